//! Owns verify-goldens' side of Prometheus's API: instant queries (optionally at a past
//! instant) through the one shared client, `gatehouse::prometheus` (blocking, one deadline
//! per request, credentials redacted), turned into this tool's errors: unreachable, slow or
//! erroring Prometheus, and a refused query named in the message.

use std::cell::RefCell;
use std::time::Duration;

use gatehouse::prometheus::{Answer, Labels, Prometheus};

use crate::error::Error;

pub(crate) struct Client {
    inner: RefCell<Prometheus>,
}

/// One sample of an instant vector: its labels and value.
pub(crate) type Sample = (Labels, f64);

fn err(e: gatehouse::prometheus::PrometheusError) -> Error {
    Error::Prometheus {
        url: e.url,
        message: e.message,
    }
}

impl Client {
    pub fn new(url: &str, timeout: Duration) -> Result<Client, Error> {
        let p = Prometheus::new(
            url,
            timeout,
            concat!("verify-goldens/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(err)?;
        Ok(Client {
            inner: RefCell::new(p),
        })
    }

    pub fn url(&self) -> String {
        self.inner.borrow().url()
    }

    /// Evaluates `promql` at `at` (unix seconds); the samples of the instant vector (a
    /// scalar is one sample without labels). A refused query is an error naming it.
    pub fn query(&self, promql: &str, at: f64) -> Result<Vec<Sample>, Error> {
        let mut p = self.inner.borrow_mut();
        match p.query(promql, Some(at)).map_err(err)? {
            Answer::Vector(v) => Ok(v),
            Answer::Scalar(x) => Ok(vec![(Labels::new(), x)]),
            Answer::Rejected(msg) => Err(err(p.error(format!("{msg} (query {promql})")))),
        }
    }
}
