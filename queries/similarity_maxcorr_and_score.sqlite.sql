SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0, (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) > ? AND atlas_value(s0.vals, neuron.unit % ?) > ? ORDER BY (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) DESC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'method_1': 'maxcorr', 'site_1': 'mlp', 'correlation_id_1': [3], 'set_id_1': 29, 'unit_2': 256, 'model_id_1': 1, 'site_2': 'mlp', 'param_1': 0.699999988079071, 'param_2': 0.5, 'param_3': 11, 'param_4': 0}
-- score sets read:
-- ap(noun) of bert: run 2, method row 4 {}
