"""``python -m box_widget.hub``: run the hub service."""

from .app import main

if __name__ == "__main__":
    main()
