"""The Gradio page starts and its API reconstructs a face (in-process server)."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def server():
    import app

    demo = app.build_demo()
    demo.queue(default_concurrency_limit=1).launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None)
    yield demo.local_url
    demo.close()


def test_reconstruct_endpoint_returns_texture_overlay_and_mesh(server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    result = client.predict(handle_file(str(app_example())), api_name="/reconstruct")
    texture_path, overlay_path, mesh_zip = result[0], result[1], result[2]
    texture = np.asarray(Image.open(texture_path))
    assert texture.shape[:2] == (1024, 1024) and texture.shape[2] == 4
    assert np.asarray(Image.open(overlay_path)).shape[:2] == (512, 512)
    import zipfile

    assert set(zipfile.ZipFile(mesh_zip).namelist()) == {"face.obj", "face.mtl", "texture.png"}


def test_no_face_is_a_message_not_a_crash(server, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((128, 128, 3), 90, np.uint8)).save(blank)
    client = Client(server, verbose=False)
    with pytest.raises(AppError, match="No face found"):
        client.predict(handle_file(str(blank)), api_name="/reconstruct")
    # The app keeps serving.
    assert client.predict(handle_file(str(app_example())), api_name="/reconstruct")


def app_example():
    import app

    return app.EXAMPLE
