SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT min(nsim.value) AS min_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_2]))) AS v0, (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_3]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_4]))) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? AND (SELECT min(nsim.value) AS min_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_2]))) > ? ORDER BY (SELECT min(nsim.value) AS min_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_2]))) DESC NULLS LAST, (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = ? AND (neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_3]) OR neuron.site = ? AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_4]))) DESC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'method_1': 'maxcorr', 'site_1': 'mlp', 'correlation_id_1': [2, 3], 'site_2': 'resid', 'correlation_id_2': [2], 'method_2': 'linreg', 'site_3': 'mlp', 'correlation_id_3': [2, 3], 'site_4': 'resid', 'correlation_id_4': [2], 'model_id_1': [3, 1], 'site_5': 'mlp', 'param_1': 0.8999999761581421, 'param_2': 101, 'param_3': 0}
