"""Routes: exports and imports (SA-V, COCO, DAVIS)."""

urlpatterns: list = []
