//! AfterShip's tracking webhook (`{"event": "tracking_update", "event_id", "msg": {tracking},
//! "ts"}`, signed in `aftership-hmac-sha256`) mapped to scans of our shipments.
//!
//! AfterShip's delivery statuses (`tag`) in our vocabulary: `InfoReceived` → info_received,
//! `InTransit` and `AvailableForPickup` → in_transit (a parcel at a pickup point is still
//! on its way to the shopper; the carrier's words say where), `OutForDelivery`,
//! `AttemptFail` → attempt_failed, `Delivered`, `Exception`, `Expired`. `Pending` (nothing
//! from the carrier yet) records no scan.

use crate::apply::{Change, Parsed, TrackingUpdate};
use crate::{text, timestamp, Malformed};
use concierge_domain::commerce::{Platform, TrackingStatus};
use concierge_store::commerce::NewTrackingEvent;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The platform this module reads (and the `source` of the orders it reads).
pub const SOURCE: Platform = Platform::AfterShip;

/// The events we act on; `tracking_pending_time` and others are ignored.
pub const TOPICS: &[&str] = &["tracking_update", "edd_revise"];

pub fn status(tag: &str) -> Option<TrackingStatus> {
    Some(match tag {
        "InfoReceived" => TrackingStatus::InfoReceived,
        "InTransit" | "AvailableForPickup" => TrackingStatus::InTransit,
        "OutForDelivery" => TrackingStatus::OutForDelivery,
        "AttemptFail" => TrackingStatus::AttemptFailed,
        "Delivered" => TrackingStatus::Delivered,
        "Exception" => TrackingStatus::Exception,
        "Expired" => TrackingStatus::Expired,
        _ => return None,
    })
}

/// The event name and id of a delivery, read before it is stored (the id keeps a retried
/// delivery from being applied twice; without one the body's digest stands in).
pub fn envelope(body: &[u8]) -> Result<(String, String), Malformed> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Malformed::new(format!("not JSON: {e}")))?;
    let event = text(&v, "event").unwrap_or("tracking_update").to_owned();
    let id = text(&v, "event_id")
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)));
    Ok((event, id))
}

pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, Malformed> {
    if !TOPICS.contains(&event) {
        return Ok(Parsed::Ignored);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Malformed::new(format!("not JSON: {e}")))?;
    let msg = v
        .get("msg")
        .ok_or_else(|| Malformed::new("msg is missing"))?;
    let tracking_number = text(msg, "tracking_number")
        .ok_or_else(|| Malformed::new("msg.tracking_number is missing"))?;
    let eta = text(msg, "expected_delivery")
        .or_else(|| {
            msg.get("aftership_estimated_delivery_date")
                .and_then(|e| text(e, "estimated_delivery_date"))
        })
        .and_then(|t| {
            timestamp("expected_delivery", t).ok().or_else(|| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(23, 59, 59))
                    .map(|d| d.and_utc())
            })
        });
    let mut scans = Vec::new();
    for (i, c) in msg
        .get("checkpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(st) = text(c, "tag").and_then(status) else {
            continue;
        };
        let at_text = text(c, "checkpoint_time").ok_or_else(|| {
            Malformed::new(format!("checkpoints[{i}].checkpoint_time is missing"))
        })?;
        let at = timestamp(&format!("checkpoints[{i}].checkpoint_time"), at_text)?;
        let message = text(c, "message").map(|m| m.chars().take(1000).collect::<String>());
        let location = text(c, "location")
            .map(str::to_owned)
            .or_else(|| {
                let parts: Vec<&str> = [
                    text(c, "city"),
                    text(c, "country_name").or_else(|| text(c, "country_iso3")),
                ]
                .into_iter()
                .flatten()
                .collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            })
            .map(|l| l.chars().take(300).collect::<String>());
        let key = format!(
            "{at_text}|{}|{}|{}",
            text(c, "subtag").or(text(c, "tag")).unwrap_or(""),
            message.as_deref().unwrap_or(""),
            location.as_deref().unwrap_or("")
        );
        scans.push(NewTrackingEvent {
            status: st,
            occurred_at: at,
            location,
            message,
            fingerprint: Some(format!(
                "{SOURCE}:{}",
                &hex::encode(Sha256::digest(key.as_bytes()))[..32]
            )),
            announce: true,
        });
    }
    // The tracking's own tag, when no checkpoint says it (a status without a scan).
    if scans.is_empty() {
        if let (Some(st), Some(at)) = (
            text(msg, "tag").and_then(status),
            text(msg, "updated_at").and_then(|t| timestamp("updated_at", t).ok()),
        ) {
            scans.push(NewTrackingEvent {
                status: st,
                occurred_at: at,
                location: None,
                message: text(msg, "subtag_message").map(|m| m.chars().take(1000).collect()),
                fingerprint: Some(format!("{SOURCE}:tag:{st}")),
                announce: true,
            });
        }
    }
    Ok(Parsed::Changes(vec![Change::Tracking(TrackingUpdate {
        tracking_number: tracking_number.chars().take(100).collect(),
        estimated_delivery: eta,
        scans,
    })]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"event":"tracking_update","event_id":"5b2b9a7e-3d2f-4f47-9b9a-000000000001","is_tracking_first_tag":false,
        "msg":{"tracking_number":"1Z2345","slug":"ups","tag":"OutForDelivery","expected_delivery":"2026-11-20T18:00:00+01:00",
        "checkpoints":[
            {"checkpoint_time":"2026-11-18T08:00:00+01:00","tag":"InTransit","subtag":"InTransit_001","message":"Departed facility","city":"Leipzig","country_name":"DEU"},
            {"checkpoint_time":"2026-11-19T07:12:00","tag":"OutForDelivery","subtag":"OutForDelivery_001","message":"Out for delivery","location":"Berlin"}]},
        "ts":1763535600}"#;

    #[test]
    fn checkpoints_become_scans_in_our_vocabulary() {
        let (event, id) = envelope(BODY.as_bytes()).unwrap();
        assert_eq!(
            (event.as_str(), id.as_str()),
            ("tracking_update", "5b2b9a7e-3d2f-4f47-9b9a-000000000001")
        );
        let Parsed::Changes(c) = parse(&event, BODY.as_bytes()).unwrap() else {
            panic!()
        };
        let Change::Tracking(t) = &c[0] else { panic!() };
        assert_eq!(t.tracking_number, "1Z2345");
        assert_eq!(t.scans.len(), 2);
        assert_eq!(t.scans[0].status, TrackingStatus::InTransit);
        assert_eq!(t.scans[0].location.as_deref(), Some("Leipzig, DEU"));
        assert_eq!(t.scans[1].status, TrackingStatus::OutForDelivery);
        assert_eq!(
            t.scans[1].occurred_at.to_rfc3339(),
            "2026-11-19T07:12:00+00:00"
        );
        assert!(t.estimated_delivery.is_some());
        assert_ne!(t.scans[0].fingerprint, t.scans[1].fingerprint);
        assert!(matches!(
            parse("tracking_pending_time", BODY.as_bytes()),
            Ok(Parsed::Ignored)
        ));
        assert_eq!(status("Pending"), None);
        assert_eq!(status("AttemptFail"), Some(TrackingStatus::AttemptFailed));
    }
}
