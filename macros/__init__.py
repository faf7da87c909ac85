"""mkdocs-macros adapter: exposes the cluster model and the page builders of `homeops.site` to pages.

Nothing is computed here. cluster.yaml is loaded (and validated) when MkDocs loads its
configuration, so an invalid file stops the build before the site directory is cleaned.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

from homeops.catalog import RunbookMalformed
from homeops.site import (
    cluster_tables,
    maintenance_log,
    network_diagram,
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

    env.variables["cluster"] = cluster

    def current_page() -> str:
        return env.page.file.src_path

    env.macro(cluster.installer_image, "installer_image")
    env.macro(lambda: cluster_tables.node_table(cluster), "node_table")
    env.macro(lambda: cluster_tables.address_plan(cluster), "address_plan")
    env.macro(lambda: cluster_tables.load_balancer_table(cluster), "load_balancer_table")
    env.macro(lambda: cluster_tables.network_table(cluster), "network_table")
    env.macro(lambda: cluster_tables.etcd_availability(cluster), "etcd_availability")
    env.macro(lambda category: technology.technology_table(cluster, category), "technology_table")
    env.macro(lambda: network_diagram.network_diagram(cluster), "network_diagram")
    env.macro(schema_reference.cluster_yaml_reference, "cluster_yaml_reference")
    env.macro(lambda: runbook_pages.runbook_index(runbooks, current_page()), "runbook_index")
    env.macro(lambda name, text=None: runbook_pages.runbook_link(known_runbooks.get(name), name, current_page(), text),
              "runbook_link")
    env.macro(lambda: runbook_pages.runbook_drills(runbooks, env.conf.get("repo_url") or ""), "runbook_drills")
    env.macro(lambda: maintenance_log.maintenance_log(sources.records_dir(project_dir), env.page.url),
              "maintenance_log")
