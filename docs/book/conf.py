"""Sphinx configuration of the course's book (``make run`` / ``make book``).

``tools/build_book.py`` lays the README, this folder and the notebooks out in a
staging folder shaped like the repository and builds it from there; the notebooks
are rendered as they were executed, never run again.
"""

import os

project = "mnist-viz"
author = "the mnist-viz authors"
copyright = "the mnist-viz authors; MNIST by LeCun, Cortes and Burges (CC BY-SA 3.0)"

extensions = ["myst_nb"]
root_doc = "index"
# The README is the front page's text (index.md includes it), not a page of its own.
exclude_patterns = ["_build", "README.md", "docs/book", "**/.ipynb_checkpoints"]

# Notebooks come executed; the book shows their stored outputs.
nb_execution_mode = "off"
# Widgets need a live kernel: the book shows no widget scripts (they would load
# from the internet) and each widget's static rendering instead.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "mnist-viz"
html_static_path = []
html_copy_source = True  # each page offers its notebook for download

# The one setting for launch buttons: the public repository's address, e.g.
# https://github.com/<owner>/mnist-viz (make run REPOSITORY=...). Empty, the
# default: no launch buttons. A school's JupyterHub adds its own button.
REPOSITORY = os.environ.get("MNIST_VIZ_BOOK_REPOSITORY", "").rstrip("/")
BRANCH = os.environ.get("MNIST_VIZ_BOOK_BRANCH", "main")
JUPYTERHUB = os.environ.get("MNIST_VIZ_BOOK_JUPYTERHUB", "").rstrip("/")

html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
if REPOSITORY:
    html_theme_options |= {
        "repository_url": REPOSITORY,
        "repository_branch": BRANCH,
        "path_to_docs": "",
        "use_repository_button": True,
        "launch_buttons": {
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
            "notebook_interface": "jupyterlab",
        }
        | ({"jupyterhub_url": JUPYTERHUB} if JUPYTERHUB else {}),
    }
