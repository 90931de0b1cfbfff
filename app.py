"""Pulse: the Chalice application. It registers blueprints, handlers and middleware; nothing else."""

from chalice import Chalice, ConvertToMiddleware

from chalicelib.api import accounts, auth, meta, settings, users
from chalicelib.observability import logger, metrics, tracer

app = Chalice(app_name="pulse", configure_logs=False)
app.experimental_feature_flags.update(["BLUEPRINTS"])

for blueprint in (meta.bp, auth.bp, users.bp, accounts.bp, settings.bp):
    app.register_blueprint(blueprint)

app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
