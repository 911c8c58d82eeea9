"""box-widget's JupyterHub service: one Box app and every hub user's connections, held by the
hub (``python -m box_widget.hub``, ``box-widget hub-service``; see docs/jupyterhub.md).

Imported only by the service and its command: ``import box_widget`` never imports it, nor
JupyterHub.
"""
