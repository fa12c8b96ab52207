"""The Django project package. (Not ``platform``: that is a standard-library module.)"""

from dataplatform.celery import app as celery_app

__all__ = ["celery_app"]
