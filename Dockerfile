# instancemock: one container serving every mocked API. Host and port are settings in ENV, so
# `-e INSTANCEMOCK_PORT=9000` works and a replaced command (`serve --config /config.yaml`) keeps them.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INSTANCEMOCK_HOST=0.0.0.0 \
    INSTANCEMOCK_PORT=8080

# A non-root user, and /data, the one place it may write (state files, exported fixtures).
RUN groupadd --system --gid 10001 mock \
    && useradd --system --uid 10001 --gid mock --home-dir /data --shell /usr/sbin/nologin mock \
    && mkdir /data \
    && chown mock:mock /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY openapi ./openapi
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /app/src /app/build

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/__admin/health' % os.environ.get('INSTANCEMOCK_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(url, timeout=2).status == 200 else 1)"]

ENTRYPOINT ["instancemock"]
CMD ["serve"]
