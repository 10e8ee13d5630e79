
// ---- Errors -------------------------------------------------------------------------------------

/** Stable machine codes of `veil-mesh` (model reading and de-identification). */
export type MeshErrorCode =
  | "truncated-file" | "count-mismatch" | "unknown-format" | "bad-header" | "unsupported-format"
  | "parse-error" | "non-finite-coordinate" | "index-out-of-range" | "empty-mesh" | "too-large"
  | "bad-option" | "no-entropy" | "cancelled";

/** Stable rejection reasons of `veil-trust` (the `reason` of `veil device verify`). */
export type RejectionCode =
  | "malformed" | "unsupported-algorithm" | "bad-signature" | "untrusted-chain"
  | "expired-certificate" | "revoked" | "serial-mismatch" | "nonce-mismatch" | "replayed-counter"
  | "stale";

/** Stable codes of `veil-consent`. */
export type ConsentErrorCode =
  | "unknown-purpose" | "unknown-tier" | "bad-tier" | "unknown-jurisdiction" | "no-jurisdiction"
  | "missing-qualifier" | "bad-time" | "bad-age" | "out-of-order" | "renew-without-consent"
  | "bad-expiry" | "unknown-text" | "text-hash-mismatch" | "bad-pseudonym" | "bad-field"
  | "too-large" | "malformed-json" | "bad-fhir" | "unknown-purpose-code" | "unknown-status"
  | "bad-bundled-data" | "unknown-language" | "unknown-mechanism" | "unknown-country"
  | "unknown-category" | "unknown-sharing-basis" | "bad-affected";

/** Stable codes of `veil-seal`. */
export type SealErrorCode =
  | "bad-key" | "rng-failed" | "bad-pseudonym-secret" | "unknown-subject" | "already-enrolled"
  | "bad-name" | "duplicate-name" | "bad-manifest" | "consent-not-granted" | "encode-failed"
  | "seal-failed"
  | "bad-envelope" | "unsupported-suite" | "wrong-recipient" | "decrypt-failed" | "bad-artifact"
  | "bad-algorithm" | "bad-signature" | "client-key-mismatch" | "hash-mismatch" | "missing-file"
  | "unlisted-file" | "raw-model" | "bad-report";

/** Stable codes of `veil-audit`. */
export type AuditErrorCode =
  | "bad-field" | "signing-failed" | "bad-signature" | "stale-entry" | "bad-line"
  | "seq-mismatch" | "prev-mismatch" | "hash-mismatch" | "head-mismatch";

/** Every code a `VeilError` can carry. `bad-argument`: a JavaScript argument of the wrong type or
 * shape, raised by the package before any core library runs. */
export type VeilErrorCode =
  | MeshErrorCode | RejectionCode | ConsentErrorCode | SealErrorCode | AuditErrorCode
  | "bad-argument" | "internal";

/** What every function of this package throws (or rejects its promise with). */
export interface VeilError extends Error {
  readonly name: "VeilError";
  /** The stable machine code, the same the `veil` CLI prints. Match on this, not on `message`. */
  readonly code: VeilErrorCode;
  /** For audit-chain breaks: the index of the first entry that does not verify. */
  readonly index?: number;
}

// ---- deidentifyModel ----------------------------------------------------------------------------

/** A cut plane: the half-space the normal points into (the face) is removed. Input coordinates. */
export interface CutPlane {
  point: [number, number, number];
  normal: [number, number, number];
}

/** Options of `deidentifyModel`, one to one with `veil deid`'s flags. */
export interface DeidentifyOptions {
  /** Output format: binary STL (default) or binary little-endian PLY. */
  format?: "stl" | "ply";
  /** What the input is (default `auto`: sniffed from the bytes). */
  inputFormat?: "auto" | "stl" | "obj" | "ply";
  /** Step settings (default `strict`, safe to share). */
  profile?: "strict" | "research" | "print";
  /** `auto` (heads only; the profile's default), `off`, `plane:PX,PY,PZ,NX,NY,NZ` or a plane. */
  deface?: "auto" | "off" | `plane:${string}` | CutPlane;
  /** Seed for reproducible noise and shuffles (byte-identical to `veil deid --seed N`). Default:
   * fresh randomness from `crypto.getRandomValues`. */
  seed?: number | bigint;
  /** Compute the report's Hausdorff distances, the costly part (as `veil deid --report`); default
   * false, as `veil deid` without `--report`: `report.utility.hausdorff` is then null. */
  hausdorff?: boolean;
  /** Called with the fraction done (0..1): monotone, never more than 5 % apart, last call 1.
   * Throwing from it aborts the run and the promise rejects with what was thrown. */
  onProgress?: (fraction: number) => void;
  /** Aborting it (e.g. from `onProgress`) stops the run with code `cancelled`. */
  signal?: AbortSignal;
}

/** One metadata channel found and removed (names and sizes, never values). */
export interface MetadataChannel {
  channel: string;
  detail?: string;
  count: number;
  bytes: number;
}

/** One pipeline step as it ran. */
export interface StepRecord {
  step: "scrub" | "reframe" | "deface" | "mask" | "shuffle" | "quantise" | string;
  applied: boolean;
  note: string;
}

/** Geometric evidence of the automatic head detection. */
export interface HeadEvidence {
  aspect: number;
  symmetry_error: number;
  nose_prominence: number;
  nose_lateral_drop: number;
  runner_up_ratio: number;
  anterior?: [number, number, number];
}

/** What the deface step did. */
export interface DefaceReport {
  mode: "auto" | "off" | "plane";
  outcome: "defaced" | "not-a-head" | "off" | "plane-missed";
  reason: string;
  plane?: CutPlane;
  detection?: HeadEvidence;
  removed_triangles: number;
  removed_area: number;
  cap_triangles: number;
  cap_loops: number;
  open_chains: number;
}

/** Symmetric Hausdorff distance between input and output outside the removed region (mm). */
export interface Hausdorff {
  max: number;
  mean: number;
  p95: number;
  samples: number;
}

/** Utility of the output relative to the input. */
export interface Utility {
  hausdorff: Hausdorff | null;
  area_in: number;
  area_out: number;
  area_change_pct: number;
  volume_in: number;
  volume_out: number;
  volume_change_pct: number;
  watertight_in: boolean;
  watertight_out: boolean;
  boundary_edges_out: number;
  nonmanifold_edges_out: number;
}

/** Something the user should look at. */
export interface DeidFlag {
  code: "hausdorff-over-bound" | "not-watertight" | "not-a-head" | "open-cut" | "volume-change" | string;
  message: string;
}

/** Mask parameters (Taubin smoothing and bounded noise). */
export interface MaskParams {
  taubin_iterations: number;
  lambda: number;
  mu: number;
  noise_mm: number;
}

/** The utility report: the JSON of `veil deid --report`, field for field. */
export interface DeidReport {
  veil_mesh_version: string;
  profile: "strict" | "research" | "print";
  input_format: "stl-binary" | "stl-ascii" | "obj" | "ply-ascii" | "ply-binary-le" | "ply-binary-be";
  output_format: "stl" | "ply";
  input_bytes: number;
  output_bytes: number;
  triangles_in: number;
  triangles_out: number;
  vertices_in: number;
  vertices_out: number;
  degenerate_triangles_dropped: number;
  metadata_removed: MetadataChannel[];
  steps: StepRecord[];
  transform: { rotation: [[number, number, number], [number, number, number], [number, number, number]]; translation: [number, number, number] } | null;
  deface: DefaceReport;
  mask: MaskParams | null;
  shuffled: boolean;
  quantise_mm: number | null;
  deterministic: boolean;
  utility: Utility;
  bound_mm: number;
  flags: DeidFlag[];
}

/** One kind of metadata removed, merged over its occurrences (no names, no values). */
export interface RemovedChannel {
  channel: string;
  count: number;
  bytes: number;
}

/** The shareable report: the JSON of `veil deid --shareable-report`; the only form ever sealed.
 * No names, comments or values from the file, no transform, no cut plane. */
export interface ShareableReport extends Omit<DeidReport, "metadata_removed" | "transform" | "deface"> {
  form: "shareable";
  metadata_removed: RemovedChannel[];
  /** Whether the model left the scanner's frame (the transform itself stays in the local report). */
  reframed: boolean;
  deface: { mode: string; outcome: string; reason: string; removed_triangles: number; removed_area: number; cap_triangles: number; cap_loops: number; open_chains: number };
}

/** What `deidentifyModel` resolves to. */
export interface DeidentifyResult {
  /** The de-identified file (binary STL or PLY). */
  model: Uint8Array;
  /** The local report: names what was removed and holds the reframing transform. Keep it local. */
  report: DeidReport;
  /** The shareable report, for `sealArtifact`'s `deidReport`. */
  shareableReport: ShareableReport;
}

// ---- verifyReading ------------------------------------------------------------------------------

/** Trusted manufacturer roots: PEM text (string or bytes) or DER certificates. */
export type TrustStoreInput = string | Uint8Array | Uint8Array[];

/** Options of `verifyReading` (the flags of `veil device verify`). */
export interface VerifyReadingOptions {
  /** The challenge sent to the device (bytes or hex); the reading must answer it. */
  nonce?: Uint8Array | string;
  /** The last counter accepted from this device; the reading's must be greater. */
  lastCounter?: number | bigint;
  /** Unix seconds to verify at (default: the JavaScript clock). */
  now?: number | bigint;
  /** Oldest accepted reading, seconds before now (default 300). */
  maxAgeSecs?: number;
  /** Furthest accepted reading time ahead of now, seconds (default 60). */
  maxFutureSecs?: number;
  /** Revoked device serials (an array, or text with one per line). */
  revoked?: string[] | string;
}

/** An IEEE 11073 measure: a number, or a special value. */
export type Measure = number | "NaN" | "NRes" | "+INF" | "-INF" | "reserved";

/** A measurement decoded from its Bluetooth SIG characteristic, tagged by `type`. */
export type Measurement =
  | { type: "blood_pressure"; systolic: Measure; diastolic: Measure; mean_arterial: Measure; unit: "mmHg"; reported_unit: "mmHg" | "kPa"; pulse?: Measure; time_stamp?: string; user_id?: number; status?: { body_movement: boolean; cuff_too_loose: boolean; irregular_pulse: boolean; pulse_rate_range: string; improper_position: boolean } }
  | { type: "temperature"; celsius: Measure; unit: "°C"; reported_unit: "celsius" | "fahrenheit"; reported_value: Measure; time_stamp?: string; site?: string }
  | { type: "glucose"; sequence_number: number; base_time: string; time_offset_minutes?: number; concentration?: Measure; unit: "mg/dL"; mmol_per_l?: Measure; reported_unit: "kg/L" | "mol/L"; sample_type?: string; sample_location?: string; sensor_status?: string[]; context_follows: boolean }
  | { type: "pulse_oximetry"; spo2: Measure; pulse: Measure; unit: "%"; time_stamp?: string; measurement_status?: string[]; device_sensor_status?: number; pulse_amplitude_index?: Measure; device_clock_not_set: boolean }
  | { type: "weight"; weight: Measure; unit: "kg"; reported_unit: "kg" | "lb"; time_stamp?: string; user_id?: number; bmi?: Measure; height_m?: Measure }
  | { type: "heart_rate"; heart_rate: number; unit: "bpm"; sensor_contact?: boolean; energy_expended_kj?: number; rr_intervals_s?: number[] }
  /** Intermediate Cuff Pressure 0x2A36 (a cuff inflating, not a result): the current pressure in `systolic`, the others NaN. */
  | { type: "intermediate_cuff_pressure"; systolic: Measure; diastolic: Measure; mean_arterial: Measure; unit: "mmHg"; reported_unit: "mmHg" | "kPa"; pulse?: Measure; time_stamp?: string; user_id?: number; status?: { body_movement: boolean; cuff_too_loose: boolean; irregular_pulse: boolean; pulse_rate_range: string; improper_position: boolean } }
  /** Intermediate Temperature 0x2A1E (a thermometer settling, not a result). */
  | { type: "intermediate_temperature"; celsius: Measure; unit: "°C"; reported_unit: "celsius" | "fahrenheit"; reported_value: Measure; time_stamp?: string; site?: string }
  /** PLX Continuous Measurement 0x2A5F: SpO2 (%) and pulse rate (bpm), normal and optionally fast and slow averaging. */
  | { type: "pulse_oximetry_continuous"; normal: { spo2: Measure; pulse: Measure }; fast?: { spo2: Measure; pulse: Measure }; slow?: { spo2: Measure; pulse: Measure }; unit: "%"; measurement_status?: string[]; device_sensor_status?: number; pulse_amplitude_index?: Measure }
  | { type: "unknown"; service: number; characteristic: number; value_hex: string };

/** The device a verified reading came from, as its manufacturer's chain vouches. */
export interface DeviceIdentity {
  serial: string;
  manufacturer: string;
  model: string | null;
  fingerprint: string;
  root_fingerprint: string;
  not_before: number;
  not_after: number;
}

/** A reading proven to come, unmodified and fresh, from a certified device: the JSON of
 * `veil device verify` (without `status`), field for field. */
export interface VerifiedReading {
  device: DeviceIdentity;
  /** Store it as the device's `lastCounter`. */
  counter: number;
  timestamp: number;
  /** The challenge answered, hex. */
  nonce: string;
  service: number;
  characteristic: number;
  algorithm: "ES256" | "ESP256";
  measurement: Measurement;
  /** The original COSE_Sign1, base64, to forward for verification downstream. */
  cose: string;
  /** The chain as received (DER, device first), base64. */
  chain: string[];
}

// ---- consent ------------------------------------------------------------------------------------

/** Who a decision is about. */
export interface ConsentSubject {
  /** Every jurisdiction whose law applies: `DE`, `FR`, `US`, `US-CA`, ... */
  jurisdictions: string[];
  /** Age in whole years. */
  age: number;
  /** A guardian's consent to this use is present. */
  guardianConsent?: boolean;
}

/** A purpose with its qualifiers. As a string: `treatment`, `research/this-study`,
 * `partner-sharing(Acme Print)`, `cross-border-transfer(US)`. Research without a tier (`research`)
 * is `research/this-study`, the narrowest. */
export interface PurposeScope {
  purpose: "treatment" | "care-operations" | "research" | "product-improvement" | "ai-training"
    | "marketing" | "partner-sharing" | "cross-border-transfer" | "third-party-printing";
  tier?: "this-study" | "related-studies" | "any-research";
  partner?: string;
  country?: string;
}

/** A consent ledger (`veil-consent-ledger/1`) as JSON. */
export interface ConsentLedgerJson {
  format?: "veil-consent-ledger/1";
  subject: string;
  events: Array<PurposeScope & {
    /** `guardian-given`: the guardian / legal representative consented; `assented`: the minor
     * agreed besides the guardian's consent (EU CTR Art. 32, CNS Resolution 466/2012). */
    kind: "given" | "withdrawn" | "expired" | "renewed" | "guardian-given" | "assented";
    at: string | number;
    channel: { type: "own-device" } | { type: "kiosk"; staff_id: string } | { type: "imported"; source: string };
    text?: { purpose: string; version: number; lang: string; sha256: string };
    expires_at?: string | number;
    guardian?: string;
    authorization?: Record<string, string | boolean | number | null>;
  }>;
}

/** A ledger: its JSON text or bytes, or the parsed object. */
export type ConsentLedgerInput = string | Uint8Array | ConsentLedgerJson;

/** A time: RFC 3339 text, Unix seconds or a `Date`. */
export type TimeInput = string | number | Date;

/** Options of `decideConsent`. */
export interface DecideConsentOptions {
  /** Time of the use (default: now). */
  at?: TimeInput;
  /** Reference of an ethics committee / IRB waiver (research). Allows only where the law names no
   * documentation Veil checks; under HIPAA (45 CFR 164.512(i)(2)) only a `waived` ledger event with
   * every element does. */
  waiver?: string;
  /** The controller's (clinic's) jurisdiction: its law applies too (`--controller`). */
  controller?: string;
  /** The safeguard a cross-border transfer rests on (`--transfer-mechanism`). */
  transferMechanism?: "adequacy" | "scc" | "bcr" | "dpf" | "derogation";
  /** A category of data with its own law on top of the others (`--data-category`):
   * `substance-use` (42 CFR Part 2), `consumer-health-data` (Washington RCW 19.373). */
  dataCategory?: "substance-use" | "consumer-health-data";
  /** Why health data is shared with another controller where a law bars sharing it for economic
   * advantage (LGPD Art. 11 §4; `--sharing-basis`). */
  sharingBasis?: "no-economic-advantage" | "health-services" | "pharmaceutical-assistance"
    | "health-care" | "portability" | "transactions";
}

/** One thing needed before a use is allowed. */
export interface Needed {
  regime: string;
  /** `assent`: the minor's assent besides the guardian's consent; `transfer-mechanism`: the
   * controller names the safeguard of a transfer; `sharing-basis`: the controller names why health
   * data is shared (LGPD Art. 11 §4). */
  what: "consent" | "explicit-consent" | "assent" | "hipaa-authorization" | "transfer-mechanism"
    | "sharing-basis";
  /** `controller`: the clinic must act (name a mechanism or basis), not a person consent. */
  from: "subject" | "guardian" | "controller";
  scope: string;
  reason: string;
  missing?: string[];
  citation: string;
}

/** The outcome of a consent decision, and the consent decision a sealed artifact's manifest
 * carries (one type from the decision to the server). */
export type ConsentDecision = "allow" | "needs-consent" | "deny";

/** A regime's rule as applied. */
export interface AppliedRule {
  regime: string;
  jurisdictions: string[];
  outcome: ConsentDecision;
  basis: string;
  citations: string[];
}

/** A consent decision: the JSON of `veil consent decide`, field for field. */
export interface Decision {
  decision: ConsentDecision;
  basis: string;
  requires: Needed[];
  citations: string[];
  rules: AppliedRule[];
}

/** One step of an erasure answer. */
export interface ErasureInstruction {
  record: "identity-layer" | "medical-record" | "secondary-use-copies" | "consent-documentation"
    | "device-readings";
  /** `retain-restricted`: kept identified, processing restricted to the legal duty (GDPR Art.
   * 17(3)(b), Art. 18). */
  action: "delete" | "retain-restricted" | "pseudonymise" | "stop-processing" | "notify-recipients";
  retain_years: number | null;
  citations: string[];
  detail: string;
}

/** The answer to an erasure request by the controller's law (`veil consent erasure`). */
export interface ControllerErasure {
  controller: string;
  jurisdictions: string[];
  steps: ErasureInstruction[];
  conflicts: string[];
}

/** One breach notification duty. */
export interface BreachNotice {
  regime: string;
  recipient: string;
  /** RFC 3339, or null when the law fixes no deadline. */
  deadline: string | null;
  /** "As soon as possible / feasible": no fixed deadline, and it leads whenever present. */
  asap: boolean;
  when: string;
  citation: string;
}

/** Breach notification duties (`veil consent breach`). */
export interface BreachSchedule {
  discovered: string;
  affected: number;
  /** Affected subjects per region, when given. */
  by_region?: Record<string, number>;
  /** `asap` duties first, then fixed deadlines (earliest first), then the other open-ended ones. */
  notices: BreachNotice[];
  leading: BreachNotice | null;
}

/** Options of `exportFhirConsent`. */
export interface ExportFhirOptions {
  /** Also mark consents whose expiry passed by this time as inactive. */
  at?: TimeInput;
}

/** A FHIR R4 Consent resource as exported. */
export interface FhirConsent {
  resourceType: "Consent";
  id: string;
  status: "active" | "inactive" | "rejected" | "proposed" | "draft" | "entered-in-error";
  [element: string]: unknown;
}

/** A FHIR R4 Bundle of Consent resources. */
export interface FhirBundle {
  resourceType: "Bundle";
  type: string;
  entry: Array<{ fullUrl?: string; resource: FhirConsent }>;
  [element: string]: unknown;
}

// ---- sealing ------------------------------------------------------------------------------------

/** A file to seal. */
export interface ArtifactFile {
  name: string;
  bytes: Uint8Array;
}

/** Options of `sealArtifact`, one to one with `veil seal`'s flags. */
export interface SealArtifactOptions {
  /** The recipient's HPKE public key: PEM `PUBLIC KEY` or a SEC1 point. */
  recipientKey: string | Uint8Array;
  /** The client's ES256 signing key, PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`); or,
   * to keep the key out of the module, `sign` and `clientPublicKey`. */
  clientKey?: string | Uint8Array;
  /** Signs the COSE `Sig_structure` with the client key, answering the 64-byte `r || s` (what
   * `crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, data)` returns). The signature is
   * checked against `clientPublicKey` before it is used. */
  sign?: (toBeSigned: Uint8Array) => Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>;
  /** The client's public key for `sign`: PEM `PUBLIC KEY` or SEC1 bytes (`exportKey("raw")`). */
  clientPublicKey?: string | Uint8Array;
  /** The subject's pseudonym secret: 32 raw bytes or 64 hex digits. */
  pseudonymSecret: Uint8Array | string;
  /** The purpose of use the consent covers (also an input of the pseudonym). */
  purpose: string;
  /** The recipient id used in the pseudonym and manifest (default: the recipient key id, hex). */
  recipientId?: string;
  /** The consent decision the artifact rests on (default `allow`). A seal rests on a grant: only
   * `allow` is sealed (`needs-consent` and `deny` are refused with `consent-not-granted`); the
   * legacy spelling `permit` is still read as `allow`. */
  consentDecision?: "allow";
  /** SHA-256 of the consent event the decision rests on, 64 hex digits. With
   * `consentContext.event` it must be that event's hash (default: computed from it). */
  consentEvent?: string;
  /** What the recipient needs to decide each read again (`veil seal --consent-event-file
   * --jurisdictions --age-band`): the ledger event the decision rests on (as the ledger's JSON
   * holds it; sealed minimised, names and signatures withheld), the subject's jurisdictions, and
   * an age band (`"16-17"`, `"21+"`) or age (sealed as its band). */
  consentContext?: {
    event?: Record<string, unknown> | string;
    /** The use decided, a scope label (`"research/this-study"`, `"cross-border-transfer(US)"`);
     * default: the event's scope, else `purpose`. */
    scope?: string;
    jurisdictions: string[];
    ageBand: string | number;
  };
  /** Device readings carried as evidence, with their chains (DER list or PEM) and the salt of the
   * challenge each answers (32 bytes or 64 hex digits): the device was asked to sign
   * `boundChallenge(clientKeySec1, challengeSalt)` for this artifact's client key. The ingest
   * server refuses a reading without one (`reading-unbound`). */
  evidence?: Array<{ reading: Uint8Array; chain?: Uint8Array[] | string; challengeSalt?: Uint8Array | string }>;
  /** The `shareableReport` of `deidentifyModel` (a local report is refused: `bad-report`). */
  deidReport?: ShareableReport;
  /** Seal model files that have not been through `deidentifyModel` (default false: `raw-model`). */
  raw?: boolean;
  /** Creation time, ms since the Unix epoch (default: now). */
  createdMs?: number | bigint;
}

/** What `sealArtifact` resolves to (`veil seal`'s JSON, camelCase, plus the envelope). */
export interface SealedArtifact {
  /** The `VEIL-1` envelope bytes. */
  envelope: Uint8Array;
  /** SHA-256 of the envelope, hex. */
  artifactId: string;
  /** The recipient key id, hex. */
  kid: string;
  recipient: string;
  pseudonym: string;
  bytes: number;
  /** The contents' names in the artifact, by role (`model-1.stl`, `reading-1.cose`, `file-1.pdf`),
   * in the order the files were given; the names the portal gave never enter the artifact. */
  contents: string[];
}

/** Options of `openArtifact`. */
export interface OpenArtifactOptions {
  /** Require this client key (PEM `PUBLIC KEY`) to be the signer. */
  clientKey?: string | Uint8Array;
}

/** The manifest as `veil open` prints it. */
export interface ArtifactManifest {
  version: number;
  pseudonym: string;
  purpose: string;
  /** The decision as an outcome id (an artifact written with the legacy `permit` reads `allow`). */
  consent: {
    decision: ConsentDecision;
    event_hash: string | null;
    /** Present in artifacts sealed with `consentContext`: the minimised event, the subject's
     * jurisdictions and age band the recipient decides each read with. */
    context?: {
      event: Record<string, unknown> | null;
      scope: { purpose: string; tier?: string; partner?: string; country?: string };
      jurisdictions: string[];
      age_band: { from: number; below: number | null };
    };
  };
  recipient: string;
  created_ms: number;
  client_key: string;
  client_kid: string;
  contents: Array<{ name: string; size: number; sha256: string }>;
  /** Device readings (hex), their chains, and the challenge salt when the reading is bound. */
  device_evidence: Array<{ reading: string; chain: string[]; challenge_salt?: string }>;
  /** Readings nothing proves (a standard Bluetooth device's, a FHIR file's), apart from the
   * device evidence; present only when the artifact carries some. */
  unverified_readings?: UnverifiedReading[];
  artifact_id: string;
  [field: string]: unknown;
}

/** A reading nothing proves, as a manifest carries it (`docs/artifact-format.md` §3.2). */
export interface UnverifiedReading {
  /** Always `unverified`: no signature, chain or verdict stands behind it. */
  status: "unverified";
  /** A measurement kind (`blood_pressure`, `temperature`, `weight`, `pulse_oximetry`, `heart_rate`, `glucose`, ...). */
  kind: string;
  /** Finite numbers in fixed units. */
  values: Array<{ name: string; value: number; unit: string }>;
  /** When it was measured, as the device or the file states it; null when not stated. */
  time: string | null;
  source: "standard-gatt" | "fhir-import";
  /** What the device says about itself (Device Information, or the name a file gives it). */
  device: { manufacturer?: string; model?: string; serial?: string; firmware?: string; name?: string };
}

/** What `openArtifact` resolves to. */
export interface OpenedArtifact {
  artifactId: string;
  manifest: ArtifactManifest;
  files: Record<string, Uint8Array>;
}

// ---- audit --------------------------------------------------------------------------------------

/** Options of `verifyAuditLog`. */
export interface VerifyAuditLogOptions {
  /** The head hash (hex) kept elsewhere, e.g. the last uploaded: detects entries cut off the end. */
  expectedHead?: string;
}

/** A verified audit log. */
export interface AuditLogReport {
  entries: number;
  /** The head hash, hex. */
  head: string;
}
