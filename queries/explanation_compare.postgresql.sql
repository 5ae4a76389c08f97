SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, sum(CASE WHEN ((SELECT ex.iou 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id 
 LIMIT %(param_1)s::INTEGER) >= %(param_2)s) THEN %(param_3)s::INTEGER ELSE %(param_4)s::INTEGER END) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'param_1': 1, 'param_2': 0.3, 'param_3': 1, 'param_4': 0, 'model_id_1': [3, 1], 'site_1': 'mlp'}
