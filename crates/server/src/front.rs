//! The service in front of the router: the two documents that relying parties and resource
//! servers fetch over and over are answered before any routing (see `Front`).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use futures_util::future::Either;
use tower::Service;

use crate::routes::protocol::discovery;
use crate::state::AppState;
use crate::web::request_id::{finish, request_id};

/// The service in front of the router. The two documents that relying parties and resource
/// servers fetch over and over, discovery and the JWKS, are answered here as they were
/// rendered at the last key change, with what `around` gives every response but without
/// routing or a middleware future; everything else goes to the router.
#[derive(Clone)]
pub struct Front {
    state: AppState,
    router: Router,
}

impl Front {
    pub fn new(state: AppState, router: Router) -> Self {
        Self { state, router }
    }

    fn document(&self, request: &Request) -> Option<Response> {
        if request.method() != Method::GET {
            return None;
        }
        let route = request.uri().path();
        let started = std::time::Instant::now();
        let mut response = match route {
            discovery::CONFIGURATION_PATH => discovery::configuration_response(&self.state),
            discovery::JWKS_PATH => discovery::jwks_response(&self.state),
            _ => return None,
        };
        finish(
            &self.state,
            response.headers_mut(),
            request_id(request.headers()),
        );
        self.state.metrics.observe(
            route,
            "GET",
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        Some(response)
    }
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, <Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.document(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.router.call(request)),
        }
    }
}
