"""The pages: each module renders one page's ``<main>`` from the cache."""
