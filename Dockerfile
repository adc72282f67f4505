# One image for the web server and every kind of worker (gpu, long, default) and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=webapp.settings \
    VISAGE_DATA_DIR=/data VISAGE_MEDIA_ROOT=/data/media

WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
# The torch pin resolves to the CPU wheel index here; GPU hosts build with
# --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 (or the CUDA they run).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX" -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt

COPY . .
RUN useradd --create-home --uid 1000 visage && mkdir -p /data && chown visage /data \
 && VISAGE_DEV=1 DATABASE_URL=postgresql://unused@localhost/unused python manage.py collectstatic --noinput
USER visage
EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "300"]
