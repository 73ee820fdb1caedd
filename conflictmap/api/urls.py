urlpatterns: list = [
    # Filled by the territory/API work (issue 3).
]
