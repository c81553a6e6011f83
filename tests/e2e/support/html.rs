//! A page as the browser received it (see `tests/common/page.rs`), read from a response.

pub use crate::page::Page;

impl Page {
    /// The page a response carries.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("location").to_owned());
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("retry-after").to_owned());
        let body = response.text().await.expect("body");
        Self {
            status,
            location,
            retry_after,
            body,
        }
    }
}
