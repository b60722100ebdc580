"""sphinx-gallery image scraper for matplotlib Figures made outside pyplot."""


def figure_scraper(block, block_vars, gallery_conf):
    """Save the matplotlib Figures an example holds that pyplot does not manage.

    Some functions (``rdinet_sklearn.explain.plot_gradcam``) build a
    :class:`matplotlib.figure.Figure` directly, outside pyplot's registry, which
    sphinx-gallery's own matplotlib scraper does not see. This scraper embeds each such
    figure found among the example's variables once, whether the example holds the Figure
    or an Axes on it (what ``rdinet_sklearn.plots`` functions return).
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    shown = block_vars.setdefault("_rdinet_figures_shown", set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Axes):
            value = value.figure
        if isinstance(value, Figure) and value.canvas.manager is None and id(value) not in shown:
            shown.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=100)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
