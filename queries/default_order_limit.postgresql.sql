SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, s0.value AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = %(concept_id_1)s::INTEGER AND (s0.run_id = %(run_id_1)s::INTEGER AND s0.method_id = %(method_id_1)s::INTEGER OR s0.run_id = %(run_id_2)s::INTEGER AND s0.method_id = %(method_id_2)s::INTEGER) 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR AND s0.value > %(param_1)s ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_2)s::INTEGER
-- parameters: {'concept_id_1': 1, 'run_id_1': 2, 'method_id_1': 3, 'run_id_2': 5, 'method_id_2': 3, 'model_id_1': [1, 3], 'site_1': 'mlp', 'param_1': 0.97, 'param_2': 100}
