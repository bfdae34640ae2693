"""The HTTP edge: the FastAPI app, its middlewares (app.py lists them outermost first), the error
mapping, the schemas, and the routers (each route one application call or one reader query)."""
