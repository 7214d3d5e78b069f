"""minik's add-ons in one process: the ingress controller, the metrics server and the
dashboard, each still runnable alone (`python -m ingress` ...), run side by side on one
event loop by `python -m addons`. Each is a client of the apiserver with its own
credentials, flags and listeners; what they share is one Python: one interpreter, one
copy of httpx, uvicorn and minik's client, ~65 MB less for `minik up` than three
processes (bench/footprint.py). Its command line: componentbase/addonsargv.py."""
