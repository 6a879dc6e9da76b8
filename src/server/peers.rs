//! The cap on connections open at once from one client address, and the count of all open
//! connections that tells the body timers when the server is near its connection cap.
//!
//! actix-web's own cap (`HttpServer::max_connections`) counts every connection of a worker
//! alike, so one client holding many connections (trickling their bodies, say) can use them
//! all. Here [`PeerCounter::on_connect`] runs for every accepted connection, counts it against
//! its peer's IP address and leaves a [`PeerSlot`] in the connection's data; the slot gives the
//! count back when the connection closes (on drop). [`refuse_over_cap`] then answers every
//! request on a connection that was over the cap when it opened with 429 and closes it,
//! before any body is read.
//!
//! The same slots count every open connection together. Once more than
//! `limits.pressure_percent` of `limits.max_connections` are open, and for twice
//! `limits.pressure_body_timeout_ms` after, [`Load::under_pressure`] says so, and
//! [`crate::server::middleware::time_body`] gives request bodies a much shorter time
//! (`limits.pressure_body_timeout_ms`): slow clients then lose their slots faster than they
//! can fill them, and new clients keep being accepted.
//!
//! Nothing here logs or labels a metric with an address.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::server::error::ApiError;

/// Open connections by client IP address and in all, shared by every worker of one server.
#[derive(Debug, Clone)]
pub struct PeerCounter {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    load: Load,
    limit: usize,
}

/// A connection's place in the count of its address and in the total; dropping it gives the
/// place back.
#[derive(Debug)]
pub struct PeerSlot {
    counter: PeerCounter,
    /// The address it is counted against (`None`: the per-address cap is off).
    ip: Option<IpAddr>,
    over_cap: bool,
}

/// The count of all open connections and the point above which the server is under
/// pressure. Cheap to clone: the count is shared.
#[derive(Debug, Clone)]
pub struct Load {
    open: Arc<AtomicUsize>,
    /// Open connections above which the server is under pressure (`usize::MAX`: never).
    pressure_above: usize,
    /// How long the server stays under pressure after the count last went over.
    hold: Duration,
    /// The clock of `last_over`.
    epoch: Instant,
    /// When the count last went over, milliseconds after `epoch` plus one (0: never).
    last_over: Arc<AtomicU64>,
}

impl Load {
    fn new() -> Self {
        Self {
            open: Arc::default(),
            pressure_above: usize::MAX,
            hold: Duration::ZERO,
            epoch: Instant::now(),
            last_over: Arc::default(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Counts one more open connection.
    fn open_one(&self) {
        let n = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        if n > self.pressure_above {
            self.last_over.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// Connections open now, all workers together.
    #[must_use]
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Whether more connections are open than the pressure point allows, or were less than
    /// the hold ago. The hold keeps the pressure on while the slots it frees refill: without
    /// it, the first bodies cut would end the pressure before the rest were checked, and the
    /// slow clients would be let go a few at a time.
    #[must_use]
    pub fn under_pressure(&self) -> bool {
        if self.open() > self.pressure_above {
            return true;
        }
        let last = self.last_over.load(Ordering::Relaxed);
        last != 0 && u128::from(self.now_ms().saturating_sub(last)) < self.hold.as_millis()
    }
}

impl PeerCounter {
    /// A counter allowing `limit` connections per address (0: no cap, no address is
    /// counted), never under pressure (see [`PeerCounter::with_pressure`]).
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            open: Arc::default(),
            load: Load::new(),
            limit,
        }
    }

    /// The same counter, under pressure once more than `percent` % of `max_connections` are
    /// open (`percent` 0: never), and for `hold` after that was last so.
    #[must_use]
    pub fn with_pressure(mut self, max_connections: usize, percent: u64, hold: Duration) -> Self {
        self.load.hold = hold;
        self.load.pressure_above = if percent == 0 {
            usize::MAX
        } else {
            let share = u128::from(percent.min(100)) * max_connections as u128 / 100;
            usize::try_from(share).unwrap_or(usize::MAX)
        };
        self
    }

    /// Counts a connection from `ip` (`None`: an address that cannot be read, counted only in
    /// the total); the slot says whether it is over its address's cap.
    #[must_use]
    pub fn admit(&self, ip: Option<IpAddr>) -> PeerSlot {
        self.load.open_one();
        let ip = ip.filter(|_| self.limit > 0);
        let over_cap = ip.is_some_and(|ip| {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let n = open.entry(ip).or_insert(0);
            *n += 1;
            *n > self.limit
        });
        PeerSlot {
            counter: self.clone(),
            ip,
            over_cap,
        }
    }

    /// The count of all open connections.
    #[must_use]
    pub fn load(&self) -> &Load {
        &self.load
    }

    /// Connections open from `ip`.
    #[must_use]
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }

    /// For `HttpServer::on_connect`: counts a plain TCP connection, by its peer address and
    /// in the total. Connections of another kind are not counted; one whose peer address
    /// cannot be read only in the total.
    pub fn on_connect(&self, conn: &dyn Any, data: &mut Extensions) {
        let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let ip = stream.peer_addr().ok().map(|a| a.ip());
        data.insert(self.admit(ip));
    }
}

impl PeerSlot {
    /// Whether this connection was over the cap of its address when it opened.
    #[must_use]
    pub fn over_cap(&self) -> bool {
        self.over_cap
    }

    /// The cap it was counted against.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.counter.limit
    }

    /// The count of all open connections, this one included.
    #[must_use]
    pub fn load(&self) -> &Load {
        &self.counter.load
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        self.counter.load.open.fetch_sub(1, Ordering::Relaxed);
        let Some(ip) = self.ip else {
            return;
        };
        let mut open = self
            .counter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// Middleware: answers a request on a connection over its address's cap with 429 and closes
/// the connection. Requests on connections without a [`PeerSlot`] (the cap is off, or a test
/// service) pass.
pub(crate) async fn refuse_over_cap(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let refused = req
        .conn_data::<PeerSlot>()
        .filter(|slot| slot.over_cap())
        .map(|slot| ApiError::TooManyConnections {
            limit: slot.limit(),
        });
    if let Some(e) = refused {
        let (http_req, _) = req.into_parts();
        return Ok(ServiceResponse::new(http_req, e.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_over_the_cap_is_refused_and_closing_one_makes_room() {
        let counter = PeerCounter::new(2);
        let (ip_a, ip_b): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let (a, b) = (Some(ip_a), Some(ip_b));
        let first = counter.admit(a);
        let second = counter.admit(a);
        let third = counter.admit(a);
        assert!(!first.over_cap() && !second.over_cap());
        assert!(third.over_cap(), "the third of a cap of 2");
        assert!(
            !counter.admit(b).over_cap(),
            "another address has its own count"
        );
        drop(third);
        drop(first);
        assert_eq!(counter.open_from(ip_a), 1);
        assert!(
            !counter.admit(a).over_cap(),
            "a closed connection gives its place back"
        );
        assert_eq!(
            counter.open_from(ip_a),
            1,
            "the slot above was dropped at once"
        );
        drop(second);
        assert_eq!(counter.open_from(ip_a), 0);
        assert_eq!(counter.open_from(ip_b), 0);
    }

    #[test]
    fn pressure_starts_above_the_share_of_the_cap_and_ends_as_connections_close() {
        // 75 % of 8 is 6: the seventh open connection puts the server under pressure.
        let counter = PeerCounter::new(0).with_pressure(8, 75, Duration::ZERO);
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        let ip = Some(addr);
        let mut slots: Vec<PeerSlot> = (0..6).map(|_| counter.admit(ip)).collect();
        assert_eq!(counter.load().open(), 6);
        assert!(!counter.load().under_pressure(), "6 of 8 is not above 75 %");
        slots.push(counter.admit(None));
        assert!(counter.load().under_pressure(), "7 of 8 is");
        assert!(
            slots[0].load().under_pressure(),
            "every slot sees the same count"
        );
        assert!(
            slots.iter().all(|s| !s.over_cap()),
            "no per-address cap (0)"
        );
        assert_eq!(counter.open_from(addr), 0, "addresses not counted");
        slots.pop();
        assert!(!counter.load().under_pressure());
        slots.clear();
        assert_eq!(counter.load().open(), 0);
    }

    #[test]
    fn a_pressure_share_of_zero_never_applies() {
        let counter = PeerCounter::new(2).with_pressure(1, 0, Duration::from_secs(60));
        let slots: Vec<PeerSlot> = (0..10).map(|_| counter.admit(None)).collect();
        assert_eq!(slots[0].load().open(), 10);
        assert!(!counter.load().under_pressure());
        let full = PeerCounter::new(0).with_pressure(4, 100, Duration::from_secs(60));
        let slots: Vec<PeerSlot> = (0..4).map(|_| full.admit(None)).collect();
        assert!(
            !full.load().under_pressure(),
            "100 %: only over the cap itself"
        );
        drop(slots);
    }

    #[test]
    fn pressure_holds_for_a_while_after_the_count_falls_back() {
        let counter = PeerCounter::new(0).with_pressure(4, 50, Duration::from_millis(300));
        let slots: Vec<PeerSlot> = (0..3).map(|_| counter.admit(None)).collect();
        assert!(counter.load().under_pressure(), "3 of 4 is above 50 %");
        drop(slots);
        assert_eq!(counter.load().open(), 0);
        assert!(counter.load().under_pressure(), "held just after");
        std::thread::sleep(Duration::from_millis(400));
        assert!(!counter.load().under_pressure(), "over after the hold");
    }
}
