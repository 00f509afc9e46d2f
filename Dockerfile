# erp-gateway as a container: docker build -t erp-gateway .
#
#   docker run -p 8080:8080 -v "$PWD/gateway.toml:/etc/erp-gateway/gateway.toml:ro" \
#     -e TRYTON_PASSWORD=... erp-gateway
#
# The config comes from the mounted file; its ${NAME} references take the secrets from the
# container's environment (or a mounted key file for the signing key). The config must
# bind 0.0.0.0: the embedded demo refuses anything but loopback, so it does not run here.

ARG PYTHON_IMAGE=python:3.11-slim

# build: wheels for the gateway and every dependency, so the final stage needs no compiler
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY policies ./policies
COPY caching ./caching
COPY carriers ./carriers
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# the wheels only live in this layer's build context: nothing of them stays in the image
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels /wheels/erp_gateway-*.whl \
    && groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin gateway \
    && install -d -o gateway -g gateway /var/lib/erp-gateway
# the one writable place (a SQLite label store, when configured); mount a volume on it
WORKDIR /var/lib/erp-gateway
USER 10001:10001
EXPOSE 8080
# the slim image has no curl: the standard library asks /healthz
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
# exec form: the server is PID 1 and gets SIGTERM itself, so it drains before it stops
ENTRYPOINT ["erp-gateway"]
CMD ["serve", "--config", "/etc/erp-gateway/gateway.toml"]
