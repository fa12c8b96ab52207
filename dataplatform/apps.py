from django.apps import AppConfig


class DataPlatformConfig(AppConfig):
    name = "dataplatform"
    verbose_name = "Masklet platform"
