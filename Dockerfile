# userpool in a container: built from source, run as a non-root user on SQLite in /data (or on
# PostgreSQL with USERPOOL_DATABASE). The stylesheet and every page are inside the binary.
#
#   docker build -t userpool .
#   docker run -p 9229:9229 -v userpool-data:/data \
#     -e USERPOOL_MASTER_KEY="$(openssl rand -base64 32)" \
#     -e USERPOOL_PUBLIC_URL=http://localhost:9229 userpool
#
# See docs/operations.md for TLS, several nodes, metrics and backups.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p userpool \
 && cp target/release/userpool /usr/local/bin/userpool

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin userpool \
 && mkdir -p /data && chown userpool:userpool /data
COPY --from=build /usr/local/bin/userpool /usr/local/bin/userpool
USER userpool
WORKDIR /data
ENV USERPOOL_LISTEN=0.0.0.0:9229 \
    USERPOOL_DATABASE=sqlite:///data/userpool.db \
    USERPOOL_DATA_DIR=/data \
    USERPOOL_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 9229
# Probes: GET /health (liveness) and GET /health/ready (readiness) on port 9229.
ENTRYPOINT ["/usr/local/bin/userpool"]
CMD ["serve"]
