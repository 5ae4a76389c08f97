SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) > ? GROUP BY model.name, neuron.layer ORDER BY model.name, neuron.layer
-- parameters: {'model_id_1': 1, 'site_1': 'mlp', 'method_1': 'maxcorr', 'site_2': 'mlp', 'correlation_id_1': [3], 'param_1': 0.800000011920929}
-- and the neurons per group:
SELECT model.name AS model, lay.layer AS layer, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer."index" AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id = ? AND lay.site = ? GROUP BY model.name, lay.layer ORDER BY model.name, lay.layer
-- parameters: {'model_id_1': 1, 'site_1': 'mlp'}
