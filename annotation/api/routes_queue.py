"""Routes: annotation tasks, verification queue, metrics."""

urlpatterns: list = []
