//! The one way a body from outside is read (OIDC discovery, JWKS, token, userinfo, SAML
//! metadata): up to a cap, never more.

use userpool_core::federation::FederationError;

use crate::transport;

/// The largest body we read from a provider. Discovery documents, key sets, token and userinfo
/// answers are a few KiB and SAML metadata rarely passes 100 KiB; 1 MiB leaves room for large
/// key sets while bounding what one call can make a node buffer.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// The body of `r`, refused once it passes [`MAX_BODY_BYTES`]: at once when Content-Length
/// says so, else after the chunk that crosses the cap (the rest is never read).
pub(crate) async fn read_capped(mut r: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let declared = r.content_length().unwrap_or(0);
    if declared > MAX_BODY_BYTES as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared as usize);
    while let Some(chunk) = r.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl BodyError {
    /// As the failure of a call to `endpoint`, in the words relayed to the app.
    pub(crate) fn at(self, endpoint: &'static str) -> FederationError {
        match self {
            BodyError::TooLarge => {
                tracing::warn!(
                    endpoint,
                    limit = MAX_BODY_BYTES,
                    "identity provider answer too large"
                );
                FederationError::Connection(format!(
                    "{endpoint} response larger than {} KiB",
                    MAX_BODY_BYTES / 1024
                ))
            }
            BodyError::Transport(e) => transport(endpoint, &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A one-shot HTTP server that answers with `head` and then `body_len` bytes of body in
    /// 64 KiB writes, and reports how many body bytes it managed to write.
    async fn serve(head: String, body_len: usize) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            s.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < body_len {
                let n = chunk.len().min(body_len - sent);
                if s.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
            sent
        });
        (url, task)
    }

    async fn get(url: &str) -> reqwest::Response {
        crate::http_client(std::time::Duration::from_secs(5))
            .get(url)
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let n = MAX_BODY_BYTES;
        let (url, _t) = serve(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"),
            n,
        )
        .await;
        assert_eq!(read_capped(get(&url).await).await.unwrap().len(), n);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        // The server declares 5 MiB but sends nothing: only the header can refuse it in time.
        let (url, _t) = serve(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                5 * MAX_BODY_BYTES
            ),
            0,
        )
        .await;
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            read_capped(get(&url).await),
        )
        .await
        .expect("refused without waiting for the body");
        assert!(matches!(r, Err(BodyError::TooLarge)));
    }

    #[tokio::test]
    async fn a_body_of_unknown_length_is_cut_at_the_cap() {
        let (url, _t) = serve(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            5 * MAX_BODY_BYTES,
        )
        .await;
        let r = read_capped(get(&url).await).await;
        assert!(matches!(r, Err(BodyError::TooLarge)), "{r:?}");
        let e = BodyError::TooLarge.at("jwks");
        assert_eq!(
            e.to_string(),
            "Connection error: jwks response larger than 1024 KiB"
        );
    }
}
