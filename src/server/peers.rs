//! The cap on connections open at once from one client address.
//!
//! actix-web's own cap (`HttpServer::max_connections`) counts every connection of a worker
//! alike, so one client holding many connections (trickling their bodies, say) can use them
//! all. Here [`PeerCounter::on_connect`] runs for every accepted connection, counts it against
//! its peer's IP address and leaves a [`PeerSlot`] in the connection's data; the slot gives the
//! count back when the connection closes (on drop). [`refuse_over_cap`] then answers every
//! request on a connection that was over the cap when it opened with 429 and closes it,
//! before any body is read.
//!
//! Nothing here logs or labels a metric with an address.

use std::any::Any;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::server::error::ApiError;

/// Open connections by client IP address, shared by every worker of one server.
#[derive(Debug, Clone)]
pub struct PeerCounter {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    limit: usize,
}

/// A connection's place in the count of its address; dropping it gives the place back.
#[derive(Debug)]
pub struct PeerSlot {
    counter: PeerCounter,
    ip: IpAddr,
    over_cap: bool,
}

impl PeerCounter {
    /// A counter allowing `limit` connections per address (0: no cap, nothing is counted).
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            open: Arc::default(),
            limit,
        }
    }

    /// Counts a connection from `ip`; the slot says whether it is over the cap.
    #[must_use]
    pub fn admit(&self, ip: IpAddr) -> PeerSlot {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        *n += 1;
        PeerSlot {
            counter: self.clone(),
            ip,
            over_cap: *n > self.limit,
        }
    }

    /// Connections open from `ip`.
    #[must_use]
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }

    /// For `HttpServer::on_connect`: counts a plain TCP connection by its peer address.
    /// Connections of another kind, or whose peer address cannot be read, are not counted.
    pub fn on_connect(&self, conn: &dyn Any, data: &mut Extensions) {
        if self.limit == 0 {
            return;
        }
        let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        if let Ok(peer) = stream.peer_addr() {
            data.insert(self.admit(peer.ip()));
        }
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
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self
            .counter
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
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
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
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
        assert_eq!(counter.open_from(a), 1);
        assert!(
            !counter.admit(a).over_cap(),
            "a closed connection gives its place back"
        );
        assert_eq!(
            counter.open_from(a),
            1,
            "the slot above was dropped at once"
        );
        drop(second);
        assert_eq!(counter.open_from(a), 0);
        assert_eq!(counter.open_from(b), 0);
    }
}
