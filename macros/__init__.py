"""mkdocs-macros adapter: exposes the cluster model and the page builders of `homeops.site` to pages.

Nothing is computed here. cluster.yaml is loaded (and validated) when MkDocs loads its
configuration, so an invalid file stops the build before any page is rendered; the site's
addresses (site_url, repo_url, edit_uri) come from its `repository`. A page that fails to
render is reported as one `docs/page.md:LINE: problem` line (`homeops.site.page_errors`).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import TemplateSyntaxError
from mkdocs.exceptions import PluginError
from mkdocs_macros.errors import format_error

from homeops.catalog import RunbookMalformed
from homeops.rendering import excerpt, render, tree
from homeops.site import (
    backup_tables,
    boot_media,
    cluster_tables,
    folding,
    maintenance_log,
    network_diagram,
    page_errors,
    publishing,
    render_cache,
    runbook_pages,
    schema_reference,
    sources,
    technology,
)


def define_env(env) -> None:
    project_dir = Path(env.project_dir)
    try:
        cluster = sources.load_site_cluster(sources.cluster_path(project_dir))
        runbooks = sources.site_runbooks(project_dir)
    except (sources.SiteSourceError, RunbookMalformed) as exc:
        raise PluginError(str(exc)) from None
    known_runbooks = {rb.name: rb for rb in runbooks}
    _publish_at(env.conf, project_dir, cluster)
    _report_page_errors(project_dir)

    env.variables["cluster"] = cluster
    branch = cluster.repository.branch if cluster.repository else "main"

    def current_page() -> str:
        return env.page.file.src_path

    env.macro(cluster.installer_image, "installer_image")
    env.macro(lambda: cluster_tables.node_table(cluster), "node_table")
    env.macro(lambda: cluster_tables.address_plan(cluster), "address_plan")
    env.macro(lambda: cluster_tables.load_balancer_table(cluster), "load_balancer_table")
    env.macro(lambda: cluster_tables.network_table(cluster), "network_table")
    env.macro(lambda: cluster_tables.etcd_availability(cluster), "etcd_availability")
    env.macro(lambda: backup_tables.backup_destinations(cluster), "backup_destinations")
    env.macro(backup_tables.s3_credentials_keys, "s3_credentials_keys")
    env.macro(lambda: cluster_tables.component_support_table(cluster), "component_support_table")
    env.macro(lambda category: technology.technology_table(cluster, category), "technology_table")
    env.macro(lambda: network_diagram.network_diagram(cluster), "network_diagram")
    env.macro(schema_reference.cluster_yaml_reference, "cluster_yaml_reference")
    env.macro(lambda: runbook_pages.runbook_index(runbooks, current_page()), "runbook_index")
    env.macro(lambda name, text=None: runbook_pages.runbook_link(known_runbooks.get(name), name, current_page(), text),
              "runbook_link")
    env.macro(lambda: runbook_pages.runbook_drills(runbooks, env.conf.get("repo_url") or "", branch), "runbook_drills")
    env.macro(lambda: maintenance_log.maintenance_log(sources.records_dir(project_dir), env.page.url),
              "maintenance_log")
    rendered = excerpt.RenderedFiles(project_dir, sources.cluster_path(project_dir), cluster,
                                     render=render_cache.cached_render(render.render, tree.TEMPLATES))
    env.macro(lambda path, language=None: folding.shown_file(path, rendered.text(path), rendered.code_block(path, language)),
              "rendered_file")
    env.macro(lambda arch=boot_media.ARCH: boot_media.iso_url(cluster, arch), "factory_iso_url")
    env.macro(lambda arch=boot_media.ARCH: boot_media.pxe_url(cluster, arch), "factory_pxe_url")
    env.macro(boot_media.schematic_post, "factory_schematic_post")
    env.macro(lambda: publishing.flux_bootstrap_command(cluster.repository), "flux_bootstrap_command")
    env.macro(lambda name: [s.command(name) for s in runbook_pages.scenarios(sources.runbooks_dir(project_dir))
                            if name in s.runbooks], "rehearsal_commands")


def _publish_at(config, project_dir: Path, cluster) -> None:
    address = publishing.site_address(cluster.repository, sources.docs_in_project(config.docs_dir, project_dir))
    if not config.site_url:  # HOMEOPS_SITE_URL (empty: unset) and `mkdocs serve` set their own
        config.site_url = address.site_url
    if address.repo_url is not None:
        config.repo_url, config.repo_name, config.edit_uri = address.repo_url, address.repo_name, address.edit_uri


def _report_page_errors(project_dir: Path) -> None:
    """mkdocs-macros formats a page's error with `format_error` (a singledispatch function)."""

    def describe(error: Exception, markdown: str, page) -> str:
        file = page.file
        if file.abs_src_path:
            source = Path(file.abs_src_path)
            name = source.relative_to(project_dir).as_posix() if source.is_relative_to(project_dir) else str(source)
        else:
            name = f"{file.src_uri} (generated)"
        return page_errors.describe(error, name, markdown, file.content_string)

    # The plugin registers its own formatter for syntax errors: replace both.
    format_error.register(Exception)(describe)
    format_error.register(TemplateSyntaxError)(describe)
