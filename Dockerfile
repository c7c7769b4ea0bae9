# Hearth container image: a multi-stage build on Debian 12 (bookworm-slim).
#
# Build:  docker build -t hearth .        (or: podman build -t hearth .)
# Run:    docker run -d --name hearth \
#           -v ./hearth.ini:/etc/hearth/hearth.ini:ro \
#           -v hearth-data:/var/lib/hearth \
#           -e HEARTH_MATRIX_PASSWORD=... \
#           hearth
#         (podman run takes the same arguments.) Start from the example configuration:
#           docker run --rm --entrypoint cat hearth /usr/share/hearth/hearth.example.ini > hearth.ini
#         Check a configuration without starting:
#           docker run --rm -v ./hearth.ini:/etc/hearth/hearth.ini:ro hearth --config /etc/hearth/hearth.ini --check-config
#         Try the console chat (no network, no config):
#           docker run --rm -it -v hearth-data:/var/lib/hearth hearth --console
#
# Health: with `[admin] listen = 127.0.0.1:9464` in hearth.ini the image's HEALTHCHECK asks
# /healthz (docker ps / podman ps show healthy or unhealthy); Prometheus can scrape /metrics from
# inside the container's network namespace (or set listen = 0.0.0.0:9464 with allow_remote = true
# and publish the port only to a trusted network).
#
# The bot runs as the unprivileged user "hearth" (uid/gid 10001). Its database, mood-log key and
# encrypted notes live in the volume /var/lib/hearth (mode 0700, owned by 10001:10001): keep that
# volume and back it up, it holds what members chose to store. A bind-mounted data folder must be
# writable by uid 10001 (chown 10001:10001 DIR). Secrets are best passed as environment
# variables (HEARTH_MATRIX_PASSWORD, HEARTH_MATRIX_ACCESS_TOKEN) rather than written in hearth.ini.
#
# The base image is named in full (docker.io/library/...) so that podman/buildah need no
# short-name resolution in registries.conf; Docker accepts the same name.

ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# ---- stage 1: build -------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libcurl4-openssl-dev libjansson-dev libolm-dev libsqlite3-dev libssl-dev libsodium-dev \
      libmd4c-dev libmd4c-html0-dev libinih-dev libmicrohttpd-dev libcairo2-dev libpixman-1-dev libpng-dev libfontconfig-dev libfreetype-dev libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build needs: changes to tests or docs do not invalidate the build layers.
COPY CMakeLists.txt ./
COPY config/ config/
COPY content/ content/
COPY bot/ bot/
COPY docs/man/ docs/man/
RUN cmake -S . -B build -DHEARTH_TESTS=OFF -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
 && cmake --build build -j"$(nproc)" \
 && DESTDIR=/out cmake --install build --strip \
 && /out/usr/bin/hearth --version

# ---- stage 2: runtime -----------------------------------------------------------------------
FROM ${DEBIAN_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.opencontainers.image.title="Hearth" \
      org.opencontainers.image.description="Peer-support bot for Matrix and IRC groups: check-in prompts, psychoeducational snippets, opt-in private mood logs. Peer self-help, not therapy and not a crisis service." \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# Runtime libraries only (what the build stage's -dev packages link against), CA certificates
# for TLS to homeservers and IRC networks, and tzdata for per-room time zones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcurl4 libjansson4 libolm3 libsqlite3-0 libssl3 libsodium23 libmd4c0 libmd4c-html0 \
      libinih1 libmicrohttpd12 libcairo2 libpixman-1-0 libpng16-16 libfontconfig1 libfreetype6 fonts-dejavu-core libpq5 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 hearth \
 && useradd --system --uid 10001 --gid hearth --home-dir /var/lib/hearth --no-create-home \
      --shell /usr/sbin/nologin hearth \
 && install -d -o hearth -g hearth -m 0700 /var/lib/hearth \
 && install -d -m 0755 /etc/hearth
COPY --from=build /out/ /
# XDG_DATA_HOME=/var/lib makes the default data folder /var/lib/hearth (the volume), also for
# `--console` runs without a config file; data_dir in hearth.ini still overrides it.
ENV XDG_DATA_HOME=/var/lib \
    HOME=/var/lib/hearth
VOLUME ["/var/lib/hearth"]
WORKDIR /var/lib/hearth
# Numeric, so that runtimes (e.g. Kubernetes runAsNonRoot) can tell it is not root.
USER 10001:10001
# Hearth handles SIGTERM (clean shutdown) and SIGHUP (reload) itself through signalfd, so it can
# run as PID 1 without an init.
STOPSIGNAL SIGTERM
# Healthy when /healthz answers 200: every configured network connected and the store answering.
# Needs [admin] listen in hearth.ini (e.g. 127.0.0.1:9464); without it the container reports
# unhealthy and the check says why. `hearth --healthcheck` asks the endpoint itself (no curl in
# the image). Build with `podman build --format docker` (OCI images drop HEALTHCHECK).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/bin/hearth", "--config", "/etc/hearth/hearth.ini", "--healthcheck"]
ENTRYPOINT ["/usr/bin/hearth"]
CMD ["--config", "/etc/hearth/hearth.ini"]
