# The da server as one image: the compiled `da` (server, pages, docs, jobs and query
# workers in one executable, DuckDB inside) plus bubblewrap for the script sandbox.
#   docker build -t da .
#   docker run -p 8000:8000 -v da-data:/data -e DA_ADMIN_EMAIL=… -e DA_ADMIN_PASSWORD=… da
# Kamal: kamal.yml (`da server deploy`); locally: docker-compose.yml.

# --- build: compile `da` for the platform of the image -------------------------------
FROM oven/bun:1.4-debian AS build
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build:cli
# The binary must start and know its server command before it is shipped.
RUN ./dist/da --version && ./dist/da server start --help >/dev/null

# --- runtime: the binary, bubblewrap, a non-root user, the /data volume --------------
FROM debian:bookworm-slim
# bubblewrap: the script sandbox refuses to run scripts without it. ca-certificates: sources
# and sign-in providers over HTTPS. Nothing else: no Bun, no node_modules, no sources.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /home/da --create-home --shell /usr/sbin/nologin da \
    && mkdir -p /data \
    && chown da:da /data
COPY --from=build --chown=root:root --chmod=0755 /app/dist/da /usr/local/bin/da
USER da
# DuckDB's native library is unpacked once into DA_CACHE_DIR (private to this user).
ENV DA_DATA_DIR=/data \
    PORT=8000 \
    DA_CACHE_DIR=/home/da/.cache/da \
    DA_LOG_FORMAT=json
WORKDIR /data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["da", "server", "health"]
# SIGTERM lets the server checkpoint the state database before it exits.
STOPSIGNAL SIGTERM
CMD ["da", "server", "start"]
