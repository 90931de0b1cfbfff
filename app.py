"""Pulse: the Chalice application. It registers blueprints, handlers and middleware; nothing else."""

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware

from chalicelib import web
from chalicelib.api import accounts as accounts_api
from chalicelib.api import auth as auth_api
from chalicelib.api import heartbeat as heartbeat_api
from chalicelib.api import local_outbox as local_outbox_api
from chalicelib.api import meta as meta_api
from chalicelib.api import notifications as notifications_api
from chalicelib.api import pulse as pulse_api
from chalicelib.api import reports as reports_api
from chalicelib.api import reviews as reviews_api
from chalicelib.api import settings as settings_api
from chalicelib.api import survey as survey_api
from chalicelib.api import users as users_api
from chalicelib.jobs import heartbeat_jobs, pulse_jobs, survey_jobs
from chalicelib.observability import logger, publish_metrics

app = Chalice(app_name="pulse", configure_logs=False)
app.experimental_feature_flags.update(["BLUEPRINTS"])

BLUEPRINTS = [
    meta_api.bp,
    auth_api.bp,
    users_api.bp,
    settings_api.bp,
    notifications_api.bp,
    accounts_api.bp,
    reports_api.bp,
    heartbeat_api.bp,
    heartbeat_jobs.bp,
    pulse_api.bp,
    pulse_jobs.bp,
    reviews_api.bp,
    survey_api.bp,
    survey_jobs.bp,
    web.bp,  # the staff web app's pages (/, /app/…); not part of /openapi.json
]
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)
if local_outbox_api.enabled():  # the local stack's mail viewer; never on AWS
    app.register_blueprint(local_outbox_api.bp)

# The API function (Handler app.app). Event handlers are decorated with @observed where they
# are declared: Lambda imports their own modules, never this one (chalicelib/observability.py).
# Events carry tokens and passwords: never log them.
app.register_middleware(
    ConvertToMiddleware(
        logger.inject_lambda_context(
            log_event=False, correlation_id_path=correlation_paths.API_GATEWAY_REST
        )
    ),
    "http",
)
app.register_middleware(publish_metrics, "http")
