# instancemock: one container serving all four mocked APIs on port 8080.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 mock && useradd --system --uid 10001 --gid mock --home-dir /app --shell /usr/sbin/nologin mock

WORKDIR /app
COPY pyproject.toml README.md ./
COPY openapi ./openapi
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /app/src /app/build

USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/__admin/health', timeout=2).status == 200 else 1)"]

ENTRYPOINT ["instancemock"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
