/**
 * The body of a function deploy (`$NEX.DEPLOY.<ns>.<node>`) for a 0.2.x or a 0.3.x node, from plain
 * inputs. Fields come in the Go struct order (so goJson writes the bytes the Go CLI writes), the
 * fields a node needs are always there (`description` as a string, `environment` sealed even when
 * empty, `target_node`), and the omitempty ones are left out when empty: `argv`, `essential` (must be
 * false for functions), `jsdomain`, the host-services override, `retry_count`, `retried_at`.
 */
import { randomUUID } from 'crypto';
import type { KeyPair } from '@nats-io/nkeys';
import { triggerSubjectProblem } from '../core/subject';
import { goJson } from './controlApi';
import type { DeployRequest02, DeployRequest03, FunctionType, NatsJwtConnectionInfo, NexProtocolVersion } from './controlTypes';
import { encodeLocation } from './location';
import { encodeWorkloadJwt } from './workloadJwt';
import { sealEnvironment, type WorkloadEnvironment } from './xkeyEnvelope';

/** What a function deploy needs, whatever the node's version. */
export interface FunctionDeployInputs {
  /** The workload name (`^[a-zA-Z0-9_-]+$`). */
  name: string;
  type: FunctionType;
  /** The object-store bucket holding the artifact (the Go CLI uses NEXCLIFILES). */
  bucket: string;
  /** The artifact's key in the bucket. */
  key: string;
  /** Hex SHA-256 of the artifact: JWT `nats.hash`, and at 0.3 also the body's `hash`. */
  hash: string;
  /** At least one; wildcards allowed; not under $SYS, $JS or $NEX. */
  triggerSubjects: readonly string[];
  /** "" when not given. */
  description?: string;
  /** Sealed to the node; {} when not given. */
  environment?: WorkloadEnvironment;
  /** The sender's curve key pair (seed SX…); its public key becomes `sender_public_key`. */
  senderXKey: KeyPair;
  /** The node's id (N…), from its ping. */
  nodeId: string;
  /** The node's public xkey (X…): ping `target_xkey` or info `public_xkey`. */
  nodePublicXKey: string;
  /** The key pair that signs the workload JWT (the CLI uses an account key, seed SA…); a stop must be signed by the same. */
  issuer: KeyPair;
  /** The JetStream domain of the bucket; left out when not given. */
  jsDomain?: string;
  /** A NATS connection for this workload's host services and triggers instead of the node's. */
  hostServices?: NatsJwtConnectionInfo;
  /** 0.3: the request id (JWT `sub`); a random UUID when not given. */
  requestId?: string;
  /** The JWT's `iat`; now when not given. */
  now?: Date;
}

/** Refuses what a node or its agent would refuse: no trigger subject, or one it cannot subscribe to. */
function checkTriggerSubjects(inputs: FunctionDeployInputs): void {
  if (inputs.triggerSubjects.length === 0) {
    throw new Error(`a ${inputs.type} function needs at least one trigger subject: the node runs it for messages on them`);
  }
  for (const subject of inputs.triggerSubjects) {
    const problem = triggerSubjectProblem(subject);
    if (problem) {
      throw new Error(`trigger subject "${subject}": ${problem}`);
    }
  }
}

/** The deploy body for a 0.2.x node: the workload name is the JWT `sub`; the override is `host_services`. */
export function buildDeployRequest02(inputs: FunctionDeployInputs): DeployRequest02 {
  checkTriggerSubjects(inputs);
  const location = encodeLocation(inputs.bucket, inputs.key);
  const workloadJwt = encodeWorkloadJwt(inputs.issuer, { name: inputs.name, hash: inputs.hash }, '0.2', inputs.now);
  return {
    description: inputs.description ?? '',
    type: inputs.type,
    location,
    workload_jwt: workloadJwt,
    environment: sealEnvironment(inputs.environment ?? {}, inputs.senderXKey, inputs.nodePublicXKey),
    ...(inputs.jsDomain ? { jsdomain: inputs.jsDomain } : {}),
    sender_public_key: inputs.senderXKey.getPublicKey(),
    target_node: inputs.nodeId,
    trigger_subjects: [...inputs.triggerSubjects],
    ...(inputs.hostServices ? { host_services: inputs.hostServices } : {}),
  };
}

/**
 * The deploy body for a 0.3.x node: `id` is the JWT `sub`, the name goes in `workload_name` and
 * JWT `nats.name`, `hash` equals JWT `nats.hash`; the override is `host_services_config`.
 */
export function buildDeployRequest03(inputs: FunctionDeployInputs): DeployRequest03 {
  checkTriggerSubjects(inputs);
  const location = encodeLocation(inputs.bucket, inputs.key);
  const id = inputs.requestId ?? randomUUID();
  const workloadJwt = encodeWorkloadJwt(inputs.issuer, { name: inputs.name, hash: inputs.hash, requestId: id }, '0.3', inputs.now);
  return {
    description: inputs.description ?? '',
    hash: inputs.hash,
    location,
    environment: sealEnvironment(inputs.environment ?? {}, inputs.senderXKey, inputs.nodePublicXKey),
    id,
    ...(inputs.jsDomain ? { jsdomain: inputs.jsDomain } : {}),
    sender_public_key: inputs.senderXKey.getPublicKey(),
    target_node: inputs.nodeId,
    trigger_subjects: [...inputs.triggerSubjects],
    ...(inputs.hostServices ? { host_services_config: inputs.hostServices } : {}),
    workload_name: inputs.name,
    workload_jwt: workloadJwt,
    type: inputs.type,
  };
}

/** The deploy body for a node of `version`. */
export function buildDeployRequest(version: NexProtocolVersion, inputs: FunctionDeployInputs): DeployRequest02 | DeployRequest03 {
  return version === '0.2' ? buildDeployRequest02(inputs) : buildDeployRequest03(inputs);
}

/** The JSON text to send, as Go's json.Marshal writes the same body. */
export function deployRequestJson(body: DeployRequest02 | DeployRequest03): string {
  return goJson(body);
}
