SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_2]))) AS v0, (SELECT max(nsim.value) AS max_2 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_3]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_4]))) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_2]))) BETWEEN ? AND ? AND (SELECT max(nsim.value) AS max_2 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_3]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_4]))) > ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'method_1': 'maxcorr', 'site_1': 'mlp', 'correlation_id_1': [2], 'site_2': 'resid', 'correlation_id_2': [2], 'method_2': 'linreg', 'site_3': 'mlp', 'correlation_id_3': [2], 'site_4': 'resid', 'correlation_id_4': [2], 'model_id_1': 3, 'site_5': 'resid', 'param_1': 0.20000000298023224, 'param_2': 0.4000000059604645, 'param_3': 0.5, 'param_4': 6, 'param_5': 0}
