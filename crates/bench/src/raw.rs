//! The load client of the issuance scenarios: plain HTTP/1.1 on keep-alive connections, each
//! request written whole in one call, the answers read without blocking by one thread that
//! never sleeps on its sockets (it yields its core when nothing arrived). Its own cost stays
//! on its core, and the server never pays to wake it: on loopback the sender runs the
//! receiver's wake-up, so a client asleep in `epoll_wait` bills the server's core for a cost
//! that a client on another machine never causes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long requests still in flight at the deadline may take to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// One keep-alive connection and the request it waits on.
struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    answer: Vec<u8>,
    sent_at: Option<Instant>,
    /// No more requests for this connection (its work ran out).
    done: bool,
}

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(Conn {
            addr,
            stream,
            answer: Vec::with_capacity(8192),
            sent_at: None,
            done: false,
        })
    }

    fn send(&mut self, request: &[u8]) -> std::io::Result<()> {
        let mut left = request;
        while !left.is_empty() {
            match self.stream.write(left) {
                Ok(n) => left = &left[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) => return Err(e),
            }
        }
        self.answer.clear();
        self.sent_at = Some(Instant::now());
        Ok(())
    }

    /// Reads what has arrived: the status of a whole answer, if one is complete.
    fn poll(&mut self) -> std::io::Result<Option<u16>> {
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                self.answer.extend_from_slice(&chunk[..n]);
                Ok(complete(&self.answer))
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The status of `answer` once it holds a whole HTTP/1.1 response (`Content-Length` or
/// chunked).
fn complete(answer: &[u8]) -> Option<u16> {
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&answer[..head_end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let header = |name: &str| {
        head.split("\r\n").find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let body = &answer[head_end..];
    if let Some(length) = header("content-length") {
        let length: usize = length.parse().ok()?;
        return (body.len() >= length).then_some(status);
    }
    let chunked = header("transfer-encoding").is_some_and(|t| t.contains("chunked"));
    (!chunked || body.ends_with(b"0\r\n\r\n")).then_some(status)
}

/// Drives `concurrency` connections (connection `i` to `targets[i % n]`) for `duration`:
/// `next(i)` makes connection `i`'s next request (none: its work ran out). Requests in flight
/// at the deadline are waited for. Returns every latency (ms), the failures (an answer that is
/// not 2xx, or a broken connection, reopened) and the time taken.
pub(crate) fn drive(
    targets: &[SocketAddr],
    concurrency: usize,
    duration: Duration,
    mut next: impl FnMut(usize) -> Option<Vec<u8>>,
) -> anyhow::Result<(Vec<f64>, usize, Duration)> {
    let mut conns = (0..concurrency)
        .map(|i| Conn::open(targets[i % targets.len()]))
        .collect::<std::io::Result<Vec<_>>>()?;
    let (mut latencies, mut errors) = (Vec::new(), 0usize);
    let start = Instant::now();
    let deadline = start + duration;
    let mut last_answer = start;
    loop {
        let now = Instant::now();
        let open = now < deadline;
        if now > deadline + DRAIN {
            anyhow::bail!("answers still missing {DRAIN:?} after the deadline");
        }
        let (mut waiting, mut progressed) = (false, false);
        for (i, c) in conns.iter_mut().enumerate() {
            if c.sent_at.is_none() {
                if !open || c.done {
                    continue;
                }
                match next(i) {
                    Some(request) => c.send(&request)?,
                    None => {
                        c.done = true;
                        continue;
                    }
                }
            }
            waiting = true;
            match c.poll() {
                Ok(None) => {}
                Ok(Some(status)) => {
                    progressed = true;
                    let sent_at = c.sent_at.take().expect("a request in flight");
                    last_answer = Instant::now();
                    latencies.push((last_answer - sent_at).as_secs_f64() * 1000.0);
                    if !(200..300).contains(&status) {
                        errors += 1;
                    }
                }
                Err(_) => {
                    errors += 1;
                    *c = Conn::open(c.addr)?;
                }
            }
        }
        if !waiting && (!open || conns.iter().all(|c| c.done)) {
            break;
        }
        // Nothing arrived: give the core to whatever shares it (PostgreSQL, a second node),
        // without sleeping on the sockets.
        if !progressed {
            std::thread::yield_now();
        }
    }
    Ok((latencies, errors, last_answer - start))
}

/// A request with `head` (request line and headers, without the final blank line) and `body`.
pub(crate) fn request(head: &str, body: &str) -> Vec<u8> {
    let mut r = String::with_capacity(head.len() + body.len() + 64);
    r.push_str(head);
    if !body.is_empty() {
        r.push_str("\r\nContent-Type: application/x-www-form-urlencoded");
        r.push_str(&format!("\r\nContent-Length: {}", body.len()));
    }
    r.push_str("\r\n\r\n");
    r.push_str(body);
    r.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn an_answer_is_whole_at_its_length_or_last_chunk() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(complete(head), None);
        assert_eq!(complete(&[&head[..], b"abc"].concat()), None);
        assert_eq!(complete(&[&head[..], b"abcde"].concat()), Some(200));
        let chunked = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
        assert_eq!(complete(chunked), None);
        assert_eq!(complete(&[&chunked[..], b"0\r\n\r\n"].concat()), Some(400));
    }
}
