import type { VenvTool } from '../src/local/temporal-cli';

/**
 * The published Kubernetes JSON schemas (kubernetes-json-schema, strict variants included) and their validator:
 * test/deploy/kubernetes.test.ts checks deploy/kubernetes/ against them.
 */
export const KUBERNETES_VALIDATE: VenvTool = { executable: 'kubernetes-validate', pipPackage: 'kubernetes-validate==1.37.0' };
