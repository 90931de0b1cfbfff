"""Pulse: the Chalice application. It registers blueprints, handlers and middleware; nothing else."""

from chalice import Chalice, ConvertToMiddleware

from chalicelib.api import accounts as accounts_api
from chalicelib.api import auth as auth_api
from chalicelib.api import meta as meta_api
from chalicelib.api import notifications as notifications_api
from chalicelib.api import settings as settings_api
from chalicelib.api import users as users_api
from chalicelib.observability import logger, metrics, tracer

app = Chalice(app_name="pulse", configure_logs=False)
app.experimental_feature_flags.update(["BLUEPRINTS"])

BLUEPRINTS = [
    meta_api.bp,
    auth_api.bp,
    users_api.bp,
    settings_api.bp,
    notifications_api.bp,
    accounts_api.bp,
]
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)

app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
