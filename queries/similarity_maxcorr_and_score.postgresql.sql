SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) AS v0, (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = %(method_1)s::VARCHAR AND neuron.site = %(site_1)s::VARCHAR AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_2)s::VARCHAR AND (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = %(method_1)s::VARCHAR AND neuron.site = %(site_1)s::VARCHAR AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) > %(param_3)s AND CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) > %(param_4)s ORDER BY (SELECT max(nsim.value) AS max_1 
FROM neuron_similarity AS nsim 
WHERE nsim.neuron_id = neuron.id AND nsim.method = %(method_1)s::VARCHAR AND neuron.site = %(site_1)s::VARCHAR AND nsim.correlation_id IN (__[POSTCOMPILE_correlation_id_1])) DESC NULLS LAST, model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_5)s::INTEGER
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'method_1': 'maxcorr', 'site_1': 'mlp', 'correlation_id_1': [3], 'set_id_1': 29, 'unit_2': 256, 'model_id_1': 1, 'site_2': 'mlp', 'param_3': 0.699999988079071, 'param_4': 0.5, 'param_5': 11}
-- score sets read:
-- ap(noun) of bert: run 2, method row 4 {}
