/**
 * The start request of the functions nexlet (src/nexlet): what a client puts, as JSON text, in an
 * ADEPLOY's `run_request` to run a JavaScript or WebAssembly function on Nex 0.4. The nexlet
 * registers this JSON Schema with its node (`start_request_schema`), so a 0.4.1 node validates every
 * request before handing it on, and clients check theirs against the bid's copy before sending.
 */

/** Where the function's file is: a JetStream object (uploaded as `nexfn deploy` does) and its hex SHA-256. */
export interface FunctionArtifact {
  bucket: string;
  key: string;
  sha256: string;
  js_domain?: string;
}

/** An environment sealed to the nexlet's xkey (the bid's `xkey`), as a 0.2 deploy seals it to a node's. */
export interface SealedEnvironment {
  /** The sender's curve public key (X…). */
  sender_xkey: string;
  /** base64 of the xkv1 box of the JSON map. */
  data: string;
}

export interface FunctionStartRequest {
  artifact: FunctionArtifact;
  /** Subjects the function answers, wildcards allowed; its instances share them in a queue group named after the workload. */
  triggers: string[];
  /** Plain variables: readable by anyone who may read the node's workload requests (CLONE returns them). */
  environment?: Record<string, string>;
  /** Variables only the nexlet can read. */
  sealed_environment?: SealedEnvironment;
  limits?: { timeout_ms?: number; memory_mib?: number };
  /** Which Nex a JavaScript function was written for: its host API and reply conversion. */
  compat?: 'docs' | '0.2' | '0.3';
  /** Other buckets than hs_<namespace>_<name>_kv and _obj for the function's own KV and object store. */
  host_services?: { kv_bucket?: string; object_store?: string };
}

const BUCKET_NAME = { type: 'string', pattern: '^[-_A-Za-z0-9]+$' };

/** The JSON Schema (draft-07, which the node's jsonschema/v6 compiles) of FunctionStartRequest. */
export const FUNCTION_START_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Nex Functions start request',
  description: 'Runs a JavaScript (v8) or WebAssembly WASI (wasm) function on the Nex Functions nexlet: its artifact in a JetStream object store, the subjects that trigger it, its environment and limits.',
  type: 'object',
  required: ['artifact', 'triggers'],
  additionalProperties: false,
  properties: {
    artifact: {
      type: 'object',
      description: 'The JavaScript source or wasm module, in a JetStream object store (the nex CLI uploads to NEXCLIFILES).',
      required: ['bucket', 'key', 'sha256'],
      additionalProperties: false,
      properties: {
        bucket: { ...BUCKET_NAME, description: 'The object store bucket.' },
        key: { type: 'string', minLength: 1, description: 'The object name.' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the object: the nexlet refuses other bytes.' },
        js_domain: { type: 'string', description: 'The JetStream domain of the object store.' },
      },
    },
    triggers: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1, pattern: '^[^\\s]+$' },
      description: 'The subjects that trigger the function (wildcards allowed); instances of one workload name share them in a queue group.',
    },
    environment: { type: 'object', additionalProperties: { type: 'string' }, description: 'Plain environment variables (WebAssembly functions): stored by the node as sent.' },
    sealed_environment: {
      type: 'object',
      required: ['sender_xkey', 'data'],
      additionalProperties: false,
      description: "Environment variables sealed to the bid's xkey (xkv1, as a Nex 0.2 deploy seals them): only the nexlet reads them.",
      properties: { sender_xkey: { type: 'string', pattern: '^X[A-Z2-7]{55}$' }, data: { type: 'string', minLength: 1 } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        timeout_ms: { type: 'integer', minimum: 1, maximum: 300000, description: 'Per trigger (default 5000 for JavaScript, 10000 for WebAssembly).' },
        memory_mib: { type: 'integer', minimum: 1, maximum: 4096, description: 'Memory per function instance.' },
      },
    },
    compat: { enum: ['docs', '0.2', '0.3'], description: 'The Nex a JavaScript function was written for (host API, reply conversion); default docs.' },
    host_services: {
      type: 'object',
      additionalProperties: false,
      properties: { kv_bucket: BUCKET_NAME, object_store: BUCKET_NAME },
    },
  },
} as const;

/** The schema as the text REGISTER and the bids carry. */
export function functionStartRequestSchemaText(): string {
  return JSON.stringify(FUNCTION_START_REQUEST_SCHEMA);
}
