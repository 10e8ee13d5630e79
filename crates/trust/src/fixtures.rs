//! Demo manufacturers and devices for tests, benches and examples (feature `fixtures`): the
//! "provision a manufacturer, take a device, build its signer, split its chain, trust the root,
//! sign a reading" setup in one place.
//! The crate documentation's example starts from [`demo_device`].

use crate::{
    Algorithm, DeviceSigner, ProvisionError, ProvisionOptions, Provisioned, TrustStore, Verifier,
    encode_spec, provision,
};

/// A development manufacturer (root CA, optional intermediate, devices), its root in a trust
/// store, and a signer for each device.
#[derive(Debug, Clone)]
pub struct DemoManufacturer {
    /// What [`provision`] made: the root, the intermediate and the devices, as PEM.
    pub provisioned: Provisioned,
    /// A trust store holding the root.
    pub store: TrustStore,
    /// The devices, in the order of `provisioned.devices`.
    pub devices: Vec<DemoDevice>,
}

/// One provisioned device, ready to sign readings.
#[derive(Debug, Clone)]
pub struct DemoDevice {
    /// Signs as the device (its serial is `signer.serial()`).
    pub signer: DeviceSigner,
    /// The chain the device presents, DER: device certificate first, then the intermediate.
    pub chain: Vec<Vec<u8>>,
    /// When the device was provisioned (Unix seconds): the time [`DemoDevice::reading`] signs at.
    pub now: u64,
}

impl DemoManufacturer {
    /// `name` making `devices` BP7 blood-pressure cuffs (serials `BP7-000001`, ...), root ->
    /// intermediate -> device, provisioned at `now` (certificates valid from an hour before, the
    /// devices' for a year).
    pub fn new(name: &str, devices: usize, now: u64) -> Result<Self, ProvisionError> {
        Self::with_options(&ProvisionOptions {
            manufacturer: name.into(),
            model: "BP7".into(),
            serial_prefix: "BP7".into(),
            devices,
            intermediate: true,
            now,
            device_days: 365,
        })
    }

    /// A manufacturer provisioned with `opts`.
    pub fn with_options(opts: &ProvisionOptions) -> Result<Self, ProvisionError> {
        let provisioned = provision(opts)?;
        let store = TrustStore::from_pem(&provisioned.root.cert_pem)
            .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?;
        let devices = provisioned
            .devices
            .iter()
            .map(|d| {
                Ok(DemoDevice {
                    signer: DeviceSigner::from_pem(&d.identity.key_pem, &d.identity.cert_pem)?,
                    chain: crate::certs_from_pem(&d.chain_pem)
                        .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?,
                    now: opts.now,
                })
            })
            .collect::<Result<_, ProvisionError>>()?;
        Ok(DemoManufacturer {
            provisioned,
            store,
            devices,
        })
    }

    /// A verifier trusting this manufacturer's root.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(self.store.clone())
    }
}

impl DemoDevice {
    /// A reading of `spec` (the short form of [`encode_spec`]) answering `nonce`, with counter
    /// `counter`, signed ES256 at the device's `now`: tagged COSE_Sign1 bytes.
    pub fn reading(
        &self,
        spec: &str,
        counter: u64,
        nonce: &[u8],
    ) -> Result<Vec<u8>, ProvisionError> {
        self.reading_at(spec, counter, self.now, nonce)
    }

    /// The same, signed at `ts` (Unix seconds; also the glucose base time when `spec` has none).
    pub fn reading_at(
        &self,
        spec: &str,
        counter: u64,
        ts: u64,
        nonce: &[u8],
    ) -> Result<Vec<u8>, ProvisionError> {
        let value = encode_spec(spec, ts)?;
        Ok(self
            .signer
            .sign(&value, counter, ts, nonce, Algorithm::Es256))
    }
}

/// The demo most tests and benches start from: "Acme Medical" with one BP7 cuff, `BP7-000001`
/// (root -> intermediate -> device), provisioned at `now`; the manufacturer and its device.
pub fn demo_device(now: u64) -> Result<(DemoManufacturer, DemoDevice), ProvisionError> {
    let maker = DemoManufacturer::new("Acme Medical", 1, now)?;
    let device = maker
        .devices
        .first()
        .cloned()
        .ok_or_else(|| ProvisionError::Build("no device was provisioned".into()))?;
    Ok((maker, device))
}
