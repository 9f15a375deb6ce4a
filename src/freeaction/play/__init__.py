"""``freeaction play``: steer a robot in the browser and watch two world-model methods and the
simulator respond side by side, live.

- :mod:`~freeaction.play.controls`: the settings a person changes and the actions keys make;
- :mod:`~freeaction.play.scene`: the true simulator (pusher or arm) beside the world model;
- :mod:`~freeaction.play.stream`: one world-model panel, rolled out chunk by chunk;
- :mod:`~freeaction.play.session`: one tab's session: the bounded queue, coalescing, recording;
- :mod:`~freeaction.play.upload`: validating an uploaded start image;
- :mod:`~freeaction.play.server`: the Starlette app (page + websocket) and a background server.

The web stack (Starlette, uvicorn, websockets) is the ``play`` extra: ``pip install "freeaction[play]"``.
"""
