SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = %(concept_id_1)s::INTEGER AND (s0.run_id = %(run_id_1)s::INTEGER AND s0.method_id = %(method_id_1)s::INTEGER OR s0.run_id = %(run_id_2)s::INTEGER AND s0.method_id = %(method_id_2)s::INTEGER) 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR AND s0.value > %(param_1)s GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'concept_id_1': 1, 'run_id_1': 2, 'method_id_1': 3, 'run_id_2': 4, 'method_id_2': 3, 'model_id_1': [1, 2], 'site_1': 'mlp', 'param_1': 0.5}
