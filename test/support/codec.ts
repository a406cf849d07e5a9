import { generateCodecKey, parseCodecKeys, AesGcmCodec } from '../../src/security/codec';

/** Keys as VIP_ROUTER_CODEC_KEYS holds them, fresh for each test world (and handed to its worker processes). */
export function testCodecKeys(): string {
  return generateCodecKey('test');
}

/** Tests run with payloads encrypted, as every deployment does. */
export function testCodec(keys = testCodecKeys()): AesGcmCodec {
  return new AesGcmCodec(parseCodecKeys(keys));
}
