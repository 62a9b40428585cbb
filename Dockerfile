# CPU build of torch by default; for CUDA pass e.g. --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# EGL/Mesa for the headless OpenGL renderer (falls back to NumPy without them).
RUN apt-get update && apt-get install -y --no-install-recommends \
        libegl1 libgl1 libgles2 libegl-mesa0 libgl1-mesa-dri libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt constraints.txt ./
RUN pip install --no-cache-dir torch==2.13.0 --index-url "$TORCH_INDEX" \
    && pip install --no-cache-dir -r requirements.txt -c constraints.txt \
    && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
ENV GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=7860
EXPOSE 7860
CMD ["python", "app.py"]
