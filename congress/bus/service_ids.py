"""The bus ids of the well-known services, in one place.

Every node that runs a role hosts its services under these ids; callers address them by id (the
bus picks a node that hosts the service). Datasources are services too, under their own names.
"""

#: the policy engine (one per policy-engine node); reach it through ``bus.engine_client``
ENGINE = "__engine"
#: the policy library (one per policy-engine node)
LIBRARY = "__library"
#: the datasource manager (on the datasource node): datasource CRUD and drivers
DS_MANAGER = "_ds_manager"
