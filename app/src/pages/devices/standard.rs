//! Standard Bluetooth SIG health devices (no Veil trust service): the GATT steps of a conformant
//! client, driven by `veil_trust::sig`'s profile table. Subscribe to every measurement
//! characteristic by its properties (they are indicate- or notify-only: never read), read only
//! what is readable (Device Information, the service's feature characteristic), write the
//! Current Time where the device offers it, and ask a device that keeps a history for its
//! stored records through the Record Access Control Point.
//!
//! The values the device sends go, unchanged, to a `veil_trust::sig::Session` (the page's
//! handler is a thin adapter onto it). Everything here is UNVERIFIED: the identity is what the
//! device's Device Information says about itself, and each record is kept as an unverified
//! reading ([`unverified_reading`]) that can be sealed with that status.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::{BluetoothRemoteGattCharacteristic, BluetoothRemoteGattServer};

use veil_core::Coded;
use veil_seal::{DeviceClaims, UnverifiedReading, UnverifiedSource, UnverifiedValue};
use veil_trust::measurement::decode_features;
use veil_trust::sig::{
    self, CHR_CURRENT_TIME, CHR_RACP, CurrentTime, DEVICE_INFORMATION, PROFILES, RacpRequest,
    SVC_CURRENT_TIME, SVC_DEVICE_INFORMATION, ServiceProfile, Session,
};

use crate::error::AppError;
use crate::platform::bluetooth::{
    self, AdvertisementWatch, BluetoothError, Subscription, sig_uuid,
};

/// What a standard device says about itself, and what the page did with its clock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    /// The kind of device (`blood pressure monitor`, ...).
    pub kind: &'static str,
    /// Device Information strings: (label, value), in DIS order, those the device has.
    pub strings: Vec<(&'static str, String)>,
    /// What its feature characteristic says, if it has one.
    pub features: Option<String>,
    /// The Current Time write.
    pub time: TimeSync,
}

/// The outcome of setting the device's clock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeSync {
    /// Not tried yet.
    #[default]
    Pending,
    /// Written: the device stamps readings with this time.
    Set(String),
    /// The device has no writable Current Time.
    NotOffered,
    /// The write failed.
    Failed(String),
}

impl TimeSync {
    /// `data-state` and text.
    pub fn label(&self) -> (&'static str, String) {
        match self {
            TimeSync::Pending => ("pending", "Not set yet".into()),
            TimeSync::Set(t) => ("set", format!("Set to {t}")),
            TimeSync::NotOffered => (
                "not-offered",
                "The device does not let its clock be set: its time stamps may be wrong".into(),
            ),
            TimeSync::Failed(e) => ("failed", format!("Could not set its clock: {e}")),
        }
    }
}

/// A standard device's record as an unverified reading, for sealing with that status: its values
/// in fixed units (special values left out), the time it states (or, when it states none, when
/// this browser received it, UTC with `Z`), and what its Device Information says of its maker,
/// model and firmware. `None` when it has no number to keep or breaks the manifest's ranges.
///
/// Neither the serial number nor the advertised name goes with it: both identify the one device,
/// so the person who owns it, and advertised names often carry the owner's name ("Jane's scale")
/// or the radio address. They stay on this device, where the Devices page shows them.
pub fn unverified_reading(
    measurement: &veil_trust::Measurement,
    info: Option<&DeviceInfo>,
    received_unix: u64,
) -> Option<UnverifiedReading> {
    let claim = |label: &str| {
        info.and_then(|i| i.strings.iter().find(|(l, _)| *l == label))
            .map(|(_, v)| v.clone())
    };
    let reading = UnverifiedReading {
        kind: measurement.kind().to_owned(),
        values: measurement
            .values()
            .into_iter()
            .map(|v| UnverifiedValue {
                name: v.name.to_owned(),
                value: v.value,
                unit: v.unit.to_owned(),
            })
            .collect(),
        time: Some(measurement.stated_time().unwrap_or_else(|| {
            format!(
                "{}Z",
                veil_trust::measurement::DateTime::from_unix(received_unix)
            )
        })),
        source: UnverifiedSource::StandardGatt,
        device: DeviceClaims {
            manufacturer: claim("Manufacturer"),
            model: claim("Model"),
            firmware: claim("Firmware"),
            serial: None,
            name: None,
        },
    };
    reading.validate().is_ok().then_some(reading)
}

/// The browser objects of a standard device's session, kept while the page's device entry lives.
pub struct StandardLink {
    /// The service profile in use.
    pub profile: &'static ServiceProfile,
    /// The decoding and de-duplication session (survives reconnections).
    pub session: Rc<RefCell<Session>>,
    /// Live subscriptions of the current connection.
    pub subscriptions: Vec<Subscription>,
    /// The Record Access Control Point of the current connection, if any.
    pub racp: Option<BluetoothRemoteGattCharacteristic>,
    /// Watching for the device's next advertisement, while disconnected.
    pub watch: Option<AdvertisementWatch>,
}

impl StandardLink {
    /// A link for `profile`, not yet subscribed.
    pub fn new(profile: &'static ServiceProfile) -> Self {
        StandardLink {
            profile,
            session: Rc::new(RefCell::new(Session::new(profile))),
            subscriptions: Vec::new(),
            racp: None,
            watch: None,
        }
    }
}

/// The standard health services the chooser filters on.
pub fn services() -> impl Iterator<Item = u16> {
    PROFILES.iter().map(|p| p.service)
}

/// The services a standard device is asked for beside its health service.
pub const OPTIONAL_SERVICES: [u16; 2] = [SVC_DEVICE_INFORMATION, SVC_CURRENT_TIME];

/// The first standard health service the device has.
pub async fn find_profile(
    server: &BluetoothRemoteGattServer,
) -> Result<Option<&'static ServiceProfile>, BluetoothError> {
    for p in PROFILES.iter() {
        if bluetooth::service(server, &sig_uuid(p.service))
            .await?
            .is_some()
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

fn dis_label(chr: u16) -> &'static str {
    match chr {
        sig::profile::CHR_MANUFACTURER_NAME => "Manufacturer",
        sig::profile::CHR_MODEL_NUMBER => "Model",
        _ => "Firmware",
    }
}

/// Reads what is readable: the Device Information strings and the service's feature
/// characteristic (only where their properties say `read`). A string the device garbles is left
/// out; the feature summary says so.
pub async fn read_info(
    server: &BluetoothRemoteGattServer,
    profile: &'static ServiceProfile,
) -> Result<(DeviceInfo, bool), BluetoothError> {
    let mut info = DeviceInfo {
        kind: profile.device_kind,
        ..DeviceInfo::default()
    };
    if let Some(dis) = bluetooth::service(server, &sig_uuid(SVC_DEVICE_INFORMATION)).await? {
        for chr in DEVICE_INFORMATION {
            // The Serial Number String is on the Web Bluetooth GATT blocklist (a tracking
            // identifier): a page may not even ask for it (SecurityError).
            if chr == sig::profile::CHR_SERIAL_NUMBER {
                continue;
            }
            // One string the device lacks or garbles leaves the others.
            let Ok(Some(ch)) = bluetooth::optional_characteristic(&dis, &sig_uuid(chr)).await
            else {
                continue;
            };
            if !bluetooth::properties(&ch).read {
                continue;
            }
            if let Ok(value) = bluetooth::read(&ch).await
                && let Ok(s) = sig::device_information_string(chr, &value)
                && !s.is_empty()
            {
                info.strings.push((dis_label(chr), s));
            }
        }
    }
    // Glucose meters always keep records (GLS); a pulse oximeter says so in its features.
    let mut storage = profile.service == veil_trust::measurement::SVC_GLUCOSE;
    if let Some(chr) = profile.features {
        let svc = bluetooth::service(server, &sig_uuid(profile.service)).await?;
        if let Some(svc) = svc
            && let Some(ch) = bluetooth::optional_characteristic(&svc, &sig_uuid(chr)).await?
            && bluetooth::properties(&ch).read
        {
            let value = bluetooth::read(&ch).await?;
            info.features = Some(match decode_features(chr, &value) {
                Some(Ok(f)) => {
                    storage |= f.has_storage();
                    super::format::features(&f)
                }
                Some(Err(e)) => format!("unreadable ({})", e.code()),
                None => String::new(),
            });
        }
    }
    Ok((info, storage))
}

/// Writes the Current Time (CTS 1.1 §3.1) from this browser's clock and time zone, where the
/// device offers a writable Current Time.
pub async fn set_time(server: &BluetoothRemoteGattServer) -> TimeSync {
    let attempt = async {
        let Some(cts) = bluetooth::service(server, &sig_uuid(SVC_CURRENT_TIME)).await? else {
            return Ok(TimeSync::NotOffered);
        };
        let Some(ch) =
            bluetooth::optional_characteristic(&cts, &sig_uuid(CHR_CURRENT_TIME)).await?
        else {
            return Ok(TimeSync::NotOffered);
        };
        if !bluetooth::properties(&ch).write {
            return Ok(TimeSync::NotOffered);
        }
        let now = js_sys::Date::new_0();
        let ms = now.get_time();
        // getTimezoneOffset is minutes west of UTC.
        let offset = -(now.get_timezone_offset() as i32);
        let Some(time) = CurrentTime::from_unix_ms(
            if ms.is_finite() && ms > 0.0 {
                ms as u64
            } else {
                0
            },
            offset,
            sig::current_time::ADJUST_MANUAL,
        ) else {
            return Ok(TimeSync::Failed("this browser's clock is not set".into()));
        };
        bluetooth::write(&ch, &time.encode()).await?;
        Ok::<_, BluetoothError>(TimeSync::Set(time.date_time.to_string().replace('T', " ")))
    };
    attempt
        .await
        .unwrap_or_else(|e| TimeSync::Failed(e.to_string()))
}

/// Subscribes to every measurement characteristic of the profile the device has (and to its
/// Record Access Control Point), by their properties; `on_value(characteristic, bytes)` gets
/// each value. Returns the subscriptions, the characteristics subscribed to, and the control
/// point. A measurement characteristic that can neither notify nor indicate breaks its
/// specification: it is not read instead, it is reported.
pub async fn subscribe_all(
    server: &BluetoothRemoteGattServer,
    profile: &'static ServiceProfile,
    storage: bool,
    on_value: Rc<dyn Fn(u16, Vec<u8>)>,
) -> Result<
    (
        Vec<Subscription>,
        Vec<u16>,
        Option<BluetoothRemoteGattCharacteristic>,
    ),
    AppError,
> {
    let svc = bluetooth::service(server, &sig_uuid(profile.service))
        .await?
        .ok_or_else(|| AppError::bluetooth("the measurement service disappeared"))?;
    let mut subscriptions = Vec::new();
    let mut subscribed = Vec::new();
    let mut wanted: Vec<u16> = profile.channels.iter().map(|c| c.characteristic).collect();
    if profile.racp && storage {
        wanted.push(CHR_RACP);
    }
    let mut racp = None;
    for chr in wanted {
        let Some(ch) = bluetooth::optional_characteristic(&svc, &sig_uuid(chr)).await? else {
            continue;
        };
        if !bluetooth::properties(&ch).subscribable() {
            return Err(AppError::bluetooth(format!(
                "characteristic 0x{chr:04X} neither indicates nor notifies, as its specification requires"
            )));
        }
        let handler = on_value.clone();
        subscriptions.push(bluetooth::subscribe(&ch, move |v| handler(chr, v)).await?);
        subscribed.push(chr);
        if chr == CHR_RACP {
            racp = Some(ch);
        }
    }
    Ok((subscriptions, subscribed, racp))
}

/// Asks for the stored records: those after the last one received in this session, or all.
pub async fn request_records(
    racp: &BluetoothRemoteGattCharacteristic,
    session: &RefCell<Session>,
) -> Result<(), AppError> {
    let request = {
        let s = session.borrow();
        match s.last_sequence() {
            Some(last) if s.profile().service == veil_trust::measurement::SVC_GLUCOSE => {
                RacpRequest::ReportFrom(last.saturating_add(1))
            }
            _ => RacpRequest::ReportAll,
        }
    };
    let bytes = session
        .borrow_mut()
        .request(request)
        .map_err(|e| AppError::new(e.code(), e.to_string()))?;
    if let Err(e) = bluetooth::write(racp, &bytes).await {
        session.borrow_mut().cancel_request();
        return Err(AppError::from(e).context("Could not ask for the stored records"));
    }
    Ok(())
}
