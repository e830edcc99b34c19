# fake-dimail in place of People's dimail container (examples/people-compose/compose.override.yml).
# Empty at each start, like the dimail container People's `make dimail-setup-db` recreates:
# its `setup_dimail_db` bootstraps `admin` and `la_regie` itself.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY fake_dimail ./fake_dimail
COPY provisioner ./provisioner
COPY contracts ./contracts
RUN pip install . && rm -rf /src && useradd --create-home --uid 10001 fake

USER fake
WORKDIR /home/fake
EXPOSE 8000

# The standard library only: the slim image has no curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD ["python", "-c", "import http.client as h; c = h.HTTPConnection('127.0.0.1', 8000, timeout=2); c.request('GET', '/_fake/requests?limit=1'); c.getresponse()"]

ENTRYPOINT ["fake-dimail"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--seed", "empty", "--dns", "auto"]
