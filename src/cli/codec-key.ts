import { generateCodecKey } from '../security/codec';

/** `npm run codec-key [id]`: a new payload encryption key, as a line of VIP_ROUTER_CODEC_KEYS. */
const line = generateCodecKey(process.argv[2] || undefined);
console.log(line);
console.error(
  '\nSet VIP_ROUTER_CODEC_KEYS to this line (worker and API alike). To rotate, put the new line first and keep the old ones\n' +
    'after it, comma-separated, for as long as histories encrypted with them are kept: the first key encrypts, all decrypt.',
);
